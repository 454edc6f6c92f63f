"""Lesson 10 test data: known-wrong answers (mutants) that the checks must catch, each with its
own message, and correct answers written differently (alternatives) that they must accept."""

from __future__ import annotations

from ..practice.lesson10 import lesson

lesson.mutant("discretize_zoh", "uses B instead of Δ·B", "you used B instead of Δ·B", '''
def discretize_zoh(A, B, delta):
    dA = delta * A
    A_bar = torch.linalg.matrix_exp(dA)
    return A_bar, torch.linalg.solve(dA, (A_bar - torch.eye(A.shape[0], dtype=A.dtype)) @ B)
''')
lesson.mutant("discretize_zoh", "Euler instead of the matrix exponential", "Euler", '''
def discretize_zoh(A, B, delta):
    return torch.eye(A.shape[0], dtype=A.dtype) + delta * A, delta * B
''')
lesson.mutant("discretize_zoh", "elementwise exponential", "torch.linalg.matrix_exp", '''
def discretize_zoh(A, B, delta):
    dA = delta * A
    A_bar = torch.exp(dA)
    return A_bar, torch.linalg.solve(dA, (A_bar - torch.eye(A.shape[0], dtype=A.dtype)) @ (delta * B))
''')
lesson.mutant("ssm_recurrent", "resets the state every step", "reset every step", '''
def ssm_recurrent(A_bar, B_bar, C, u):
    return torch.stack([C @ (B_bar * u_k) for u_k in u])
''')
lesson.mutant("ssm_recurrent", "reads the output before the update", "one step late", '''
def ssm_recurrent(A_bar, B_bar, C, u):
    x = torch.zeros_like(B_bar)
    ys = []
    for u_k in u:
        ys.append(C @ x)
        x = A_bar @ x + B_bar * u_k
    return torch.stack(ys)
''')
lesson.mutant("selective_scan_sequential", "uses B instead of Δ·B", "instead of Δ·B", '''
def selective_scan_sequential(u, delta, A, B, C, D):
    A_bar = torch.exp(delta.unsqueeze(-1) * A)
    Bu = u.unsqueeze(-1) * B.unsqueeze(2)
    h = torch.zeros_like(A_bar[:, 0])
    ys = []
    for t in range(u.shape[1]):
        h = A_bar[:, t] * h + Bu[:, t]
        ys.append((h * C[:, t].unsqueeze(1)).sum(-1))
    return torch.stack(ys, dim=1) + D * u
''')
lesson.mutant("selective_scan_sequential", "resets its state every step", "resets the state every step", '''
def selective_scan_sequential(u, delta, A, B, C, D):
    Bu = (delta * u).unsqueeze(-1) * B.unsqueeze(2)
    ys = [(Bu[:, t] * C[:, t].unsqueeze(1)).sum(-1) for t in range(u.shape[1])]
    return torch.stack(ys, dim=1) + D * u
''')
lesson.mutant("selective_scan_sequential", "forgets D", "skip term", '''
_solution_selective_scan_sequential = selective_scan_sequential
def selective_scan_sequential(u, delta, A, B, C, D):
    return _solution_selective_scan_sequential(u, delta, A, B, C, D) - D * u
''')
lesson.mutant("selective_scan_parallel", "resets its state every step", "resets the state every step", '''
def selective_scan_parallel(u, delta, A, B, C, D):
    Bu = (delta * u).unsqueeze(-1) * B.unsqueeze(2)
    return (Bu * C.unsqueeze(2)).sum(-1) + D * u
''')
lesson.mutant("selective_scan_parallel", "combines a pair in the wrong order", "wrong element of the pair", '''
def selective_scan_parallel(u, delta, A, B, C, D):
    a = torch.exp(delta.unsqueeze(-1) * A)
    b = (delta * u).unsqueeze(-1) * B.unsqueeze(2)
    k = 1
    while k < u.shape[1]:
        b = torch.cat([b[:, :k], a[:, :-k] * b[:, k:] + b[:, :-k]], 1)
        a = torch.cat([a[:, :k], a[:, k:] * a[:, :-k]], 1)
        k *= 2
    return (b * C.unsqueeze(2)).sum(-1) + D * u
''')
lesson.mutant("selective_scan_parallel", "is the sequential loop in disguise", "still loops over time", '''
def selective_scan_parallel(u, delta, A, B, C, D):
    return selective_scan_sequential(u, delta, A, B, C, D)
''')
lesson.mutant("causal_conv1d", "pads on the right: not causal", "not causal", '''
def causal_conv1d(x, weight, bias):
    K = weight.shape[1]
    x = F.pad(x.transpose(1, 2), (0, K - 1))
    return F.conv1d(x, weight.unsqueeze(1), bias, groups=weight.shape[0]).transpose(1, 2)
''')
lesson.mutant("causal_conv1d", "flips the kernel", "reversed", '''
def causal_conv1d(x, weight, bias):
    K = weight.shape[1]
    x = F.pad(x.transpose(1, 2), (K - 1, 0))
    return F.conv1d(x, weight.flip(-1).unsqueeze(1), bias, groups=weight.shape[0]).transpose(1, 2)
''')
lesson.mutant("MambaBlock", "Δ not passed through softplus", "not passed through softplus", '''
class MambaBlock(MambaBlock):
    def forward(self, x):
        x, z = self.in_proj(x).chunk(2, dim=-1)
        x = F.silu(causal_conv1d(x, self.conv1d.weight[:, 0], self.conv1d.bias))
        delta, B, C = self.x_proj(x).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = self.dt_proj(delta)
        y = selective_scan_parallel(x, delta, -torch.exp(self.A_log), B, C, self.D)
        return self.out_proj(y * F.silu(z))
''')
lesson.mutant("MambaBlock", "conv with padding on both sides: not causal", "not causal", '''
class MambaBlock(MambaBlock):
    def forward(self, x):
        L = x.shape[1]
        x, z = self.in_proj(x).chunk(2, dim=-1)
        K = self.conv1d.weight.shape[-1]
        x = F.conv1d(x.transpose(1, 2), self.conv1d.weight, self.conv1d.bias, padding=K - 1,
                     groups=x.shape[-1])[..., K - 1:K - 1 + L].transpose(1, 2)
        x = F.silu(x)
        delta, B, C = self.x_proj(x).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = F.softplus(self.dt_proj(delta))
        y = selective_scan_parallel(x, delta, -torch.exp(self.A_log), B, C, self.D)
        return self.out_proj(y * F.silu(z))
''')
lesson.mutant("discretize_zoh", "Mamba's Δ·B shortcut instead of the exact B̄", "first-order shortcut", '''
def discretize_zoh(A, B, delta):
    return torch.linalg.matrix_exp(delta * A), delta * B
''')
lesson.mutant("selective_scan_sequential", "passes Δ through softplus again", "softplus again", '''
_solution_selective_scan_sequential = selective_scan_sequential
def selective_scan_sequential(u, delta, A, B, C, D):
    return _solution_selective_scan_sequential(u, F.softplus(delta), A, B, C, D)
''')
lesson.mutant("selective_scan_sequential", "reads y_t before adding step t", "one step late", '''
def selective_scan_sequential(u, delta, A, B, C, D):
    A_bar = torch.exp(delta.unsqueeze(-1) * A)
    Bu = (delta * u).unsqueeze(-1) * B.unsqueeze(2)
    h = torch.zeros_like(A_bar[:, 0])
    ys = []
    for t in range(u.shape[1]):
        ys.append((h * C[:, t].unsqueeze(1)).sum(-1))
        h = A_bar[:, t] * h + Bu[:, t]
    return torch.stack(ys, dim=1) + D * u
''')
lesson.mutant("selective_scan_parallel", "forgets D", "skip term", '''
_solution_selective_scan_parallel = selective_scan_parallel
def selective_scan_parallel(u, delta, A, B, C, D):
    return _solution_selective_scan_parallel(u, delta, A, B, C, D) - D * u
''')
lesson.mutant("causal_conv1d", "forgets the bias", "bias is missing", '''
def causal_conv1d(x, weight, bias):
    K = weight.shape[1]
    x = F.pad(x.transpose(1, 2), (K - 1, 0))
    return F.conv1d(x, weight.unsqueeze(1), groups=weight.shape[0]).transpose(1, 2)
''')
_BLOCK_HEAD = '''
class MambaBlock(MambaBlock):
    def forward(self, x):
        x, z = self.in_proj(x).chunk(2, dim=-1)
        x = F.silu(causal_conv1d(x, self.conv1d.weight[:, 0], self.conv1d.bias))
        delta, B, C = self.x_proj(x).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = F.softplus(self.dt_proj(delta))
'''
lesson.mutant("MambaBlock", "A = exp(A_log): the minus sign is missing", "A = -exp(A_log)", _BLOCK_HEAD + '''
        y = selective_scan_parallel(x, delta, torch.exp(self.A_log), B, C, self.D)
        return self.out_proj(y * F.silu(z))
''')
lesson.mutant("MambaBlock", "gate by z instead of SiLU(z)", "SiLU(z)", _BLOCK_HEAD + '''
        y = selective_scan_parallel(x, delta, -torch.exp(self.A_log), B, C, self.D)
        return self.out_proj(y * z)
''')


# ---------------------------------------------------------------- alternatives (correct, written differently)

lesson.alternative("discretize_zoh", "Van Loan: one matrix exponential of the block matrix [[ΔA, ΔB], [0, 0]]", '''
def discretize_zoh(A, B, delta):
    N = A.shape[0]
    M = torch.zeros(N + 1, N + 1, dtype=A.dtype)
    M[:N, :N] = delta * A
    M[:N, N] = delta * B
    E = torch.linalg.matrix_exp(M)
    return E[:N, :N], E[:N, N]
''')
lesson.alternative("discretize_zoh", "explicit inverse of A", '''
def discretize_zoh(A, B, delta):
    A_bar = torch.linalg.matrix_exp(A * delta)
    return A_bar, torch.linalg.inv(A) @ (A_bar - torch.eye(len(A), dtype=A.dtype)) @ B
''')
lesson.alternative("discretize_zoh", "power series of e^(ΔA) and of (e^(ΔA) - I)/(ΔA), by scaling and squaring", '''
def discretize_zoh(A, B, delta):
    # series for s = Δ / 2^m, then double m times: e^(2s A) = (e^(sA))^2, ∫_0^2s = e^(sA) ∫_0^s + ∫_0^s
    m = 8
    s = delta / 2 ** m
    eye = torch.eye(A.shape[0], dtype=A.dtype)
    term, E, Phi = eye.clone(), eye.clone(), eye.clone()
    for k in range(1, 20):
        term = term @ (s * A) / k                 # (sA)^k / k!
        E = E + term
        Phi = Phi + term / (k + 1)                # sum (sA)^k / (k+1)!
    G = Phi * s                                    # ∫_0^s e^(tA) dt
    for _ in range(m):
        G = E @ G + G
        E = E @ E
    return E, G @ B
''')
lesson.alternative("ssm_recurrent", "the convolution kernel C Ā^k B̄ (S4's view)", '''
def ssm_recurrent(A_bar, B_bar, C, u):
    L = u.shape[0]
    kernel, x = [], B_bar
    for _ in range(L):
        kernel.append(C @ x)
        x = A_bar @ x
    K = torch.stack(kernel)
    return torch.stack([(K[:k + 1].flip(0) * u[:k + 1]).sum() for k in range(L)])
''')
lesson.alternative("ssm_recurrent", "numpy loop with a column state, float64 result", '''
def ssm_recurrent(A_bar, B_bar, C, u):
    import numpy as np
    A, Bv, Cv = (t.double().numpy() for t in (A_bar, B_bar, C))
    x = np.zeros((A.shape[0], 1))
    ys = []
    for u_k in u.double().numpy():
        x = A @ x + Bv[:, None] * u_k
        ys.append(float(Cv @ x[:, 0]))
    return torch.from_numpy(np.array(ys))
''')
lesson.alternative("selective_scan_sequential", "einsum, a preallocated output", '''
def selective_scan_sequential(u, delta, A, B, C, D):
    b, L, ED = u.shape
    dA = torch.exp(torch.einsum("ble,en->blen", delta, A))
    dBu = torch.einsum("ble,bln,ble->blen", delta, B, u)
    h = u.new_zeros(b, ED, A.shape[1])
    ys = []
    for t in range(L):
        h = dA[:, t] * h + dBu[:, t]
        ys.append(torch.einsum("ben,bn->be", h, C[:, t]))
    return torch.stack(ys, 1) + u * D
''')
lesson.alternative("selective_scan_sequential", "Ā and B̄u computed inside the loop, output by matmul", '''
def selective_scan_sequential(u, delta, A, B, C, D):
    h = None
    ys = []
    for t in range(u.shape[1]):
        d = delta[:, t, :, None]                                  # (b, ED, 1)
        step = d * u[:, t, :, None] * B[:, t, None, :]            # (b, ED, N)
        h = step if h is None else torch.exp(d * A) * h + step
        ys.append((h @ C[:, t, :, None])[..., 0])
    return torch.stack(ys, dim=1) + D * u
''')
lesson.alternative("selective_scan_parallel", "Hillis-Steele with F.pad (identity pairs (1, 0) shifted in)", '''
def selective_scan_parallel(u, delta, A, B, C, D):
    a = torch.exp(delta[..., None] * A)
    b = (delta * u)[..., None] * B[:, :, None, :]
    k = 1
    while k < u.shape[1]:
        a_prev = F.pad(a[:, :-k], (0, 0, 0, 0, k, 0), value=1.0)   # element t - k, identity before the start
        b_prev = F.pad(b[:, :-k], (0, 0, 0, 0, k, 0), value=0.0)
        b = a * b_prev + b
        a = a * a_prev
        k *= 2
    return torch.einsum("blen,bln->ble", b, C) + D * u
''')
lesson.alternative("selective_scan_parallel", "Blelloch: pair up neighbours, recurse on the odd steps, fill the even ones", '''
def selective_scan_parallel(u, delta, A, B, C, D):
    def scan(a, b):
        # inclusive scan of h_t = a_t h_(t-1) + b_t along dim 1, by recursive halving
        L = a.shape[1]
        if L == 1:
            return b
        if L % 2:
            a = torch.cat([a, torch.ones_like(a[:, :1])], 1)
            b = torch.cat([b, torch.zeros_like(b[:, :1])], 1)
        a_even, a_odd = a[:, 0::2], a[:, 1::2]
        b_even, b_odd = b[:, 0::2], b[:, 1::2]
        h_odd = scan(a_odd * a_even, a_odd * b_even + b_odd)        # h at steps 1, 3, 5, ...
        h_prev = torch.cat([torch.zeros_like(h_odd[:, :1]), h_odd[:, :-1]], 1)
        h_even = a_even * h_prev + b_even                            # h at steps 0, 2, 4, ...
        return torch.stack([h_even, h_odd], 2).flatten(1, 2)[:, :L]
    h = scan(torch.exp(delta.unsqueeze(-1) * A), (delta * u).unsqueeze(-1) * B.unsqueeze(2))
    return (h * C.unsqueeze(2)).sum(-1) + D * u
''')
lesson.alternative("causal_conv1d", "a sum over the K taps of shifted copies", '''
def causal_conv1d(x, weight, bias):
    b, L, ch = x.shape
    K = weight.shape[1]
    padded = torch.cat([x.new_zeros(b, K - 1, ch), x], dim=1)
    return bias + sum(weight[:, j] * padded[:, j:j + L] for j in range(K))
''')
lesson.alternative("causal_conv1d", "nn.Conv1d padded on both sides, cut to L", '''
def causal_conv1d(x, weight, bias):
    ch, K = weight.shape
    conv = nn.Conv1d(ch, ch, K, groups=ch, padding=K - 1)
    with torch.no_grad():
        conv.weight.copy_(weight.unsqueeze(1))
        conv.bias.copy_(bias)
    return conv(x.transpose(1, 2))[..., :x.shape[1]].transpose(1, 2)
''')
lesson.alternative("causal_conv1d", "unfold into windows, einsum with the kernel", '''
def causal_conv1d(x, weight, bias):
    K = weight.shape[1]
    windows = F.pad(x, (0, 0, K - 1, 0)).unfold(1, K, 1)      # (b, L, ch, K)
    return torch.einsum("blck,ck->blc", windows, weight) + bias
''')
lesson.alternative("MambaBlock", "SiLU as x·σ(x), softplus as log1p(exp), the sequential scan", '''
class MambaBlock(MambaBlock):
    def forward(self, x):
        xz = self.in_proj(x)
        d_inner = xz.shape[-1] // 2
        x, z = xz[..., :d_inner], xz[..., d_inner:]
        x = causal_conv1d(x, self.conv1d.weight.squeeze(1), self.conv1d.bias)
        x = x * torch.sigmoid(x)
        params = self.x_proj(x)
        delta = params[..., :self.dt_rank]
        B = params[..., self.dt_rank:self.dt_rank + self.d_state]
        C = params[..., self.dt_rank + self.d_state:]
        delta = torch.log1p(torch.exp(self.dt_proj(delta)))
        y = selective_scan_sequential(x, delta, -self.A_log.exp(), B, C, self.D)
        return self.out_proj(y * (z * torch.sigmoid(z)))
''')
lesson.alternative("MambaBlock", "the conv1d module itself on left-padded input, nn.functional names", '''
class MambaBlock(MambaBlock):
    def forward(self, x):
        x, z = torch.chunk(self.in_proj(x), 2, dim=-1)
        K = self.conv1d.kernel_size[0]
        x = self.conv1d(F.pad(x.transpose(1, 2), (K - 1, 0))).transpose(1, 2)
        x = nn.functional.silu(x)
        delta, B, C = torch.split(self.x_proj(x), [self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = nn.functional.softplus(F.linear(delta, self.dt_proj.weight, self.dt_proj.bias))
        y = selective_scan_parallel(x, delta, -torch.exp(self.A_log), B, C, self.D)
        return self.out_proj(nn.functional.silu(z) * y)
''')
