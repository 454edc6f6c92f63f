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
