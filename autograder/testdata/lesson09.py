"""Lesson 09 test data: known-wrong answers (mutants) that the checks must catch, each with its
own message, and correct answers written differently (alternatives) that they must accept."""

from __future__ import annotations

from ..practice.lesson09 import lesson

lesson.mutant("record_attention", "returns the pre-softmax scores", "pre-softmax scores", '''
def record_attention(model, idx):
    patterns = []
    def hook(module, args, output):
        x = args[0]
        B, T, C = x.shape
        q, k, _ = module.c_attn(x).split(C, dim=2)
        q, k = (t.view(B, T, module.n_head, C // module.n_head).transpose(1, 2) for t in (q, k))
        scores = q @ k.transpose(-2, -1) / math.sqrt(C // module.n_head)
        future = torch.ones(T, T, dtype=torch.bool).triu(1)
        patterns.append(scores.masked_fill(future, float("-inf")))
    handles = [block.attn.register_forward_hook(hook) for block in model.transformer.h]
    try:
        with torch.no_grad():
            model(idx)
    finally:
        for handle in handles:
            handle.remove()
    return patterns
''')
lesson.mutant("record_attention", "forgets the causal mask", "attends to future positions", '''
def record_attention(model, idx):
    patterns = []
    def hook(module, args, output):
        x = args[0]
        B, T, C = x.shape
        q, k, _ = module.c_attn(x).split(C, dim=2)
        q, k = (t.view(B, T, module.n_head, C // module.n_head).transpose(1, 2) for t in (q, k))
        patterns.append((q @ k.transpose(-2, -1) / math.sqrt(C // module.n_head)).softmax(-1))
    handles = [block.attn.register_forward_hook(hook) for block in model.transformer.h]
    with torch.no_grad():
        model(idx)
    for handle in handles:
        handle.remove()
    return patterns
''')
_RECORD_HOOK = '''
def record_attention(model, idx):
    patterns = []
    def hook(module, args, output):
        x = args[0]
        B, T, C = x.shape
        q, k, _ = module.c_attn(x).split(C, dim=2)
        q, k = (t.view(B, T, module.n_head, C // module.n_head).transpose(1, 2) for t in (q, k))
        scores = q @ k.transpose(-2, -1) / math.sqrt(C // module.n_head)
        future = torch.ones(T, T, dtype=torch.bool).triu(1)
        patterns.append(scores.masked_fill(future, float("-inf")).softmax(dim=-1))
    handles = [block.attn.register_forward_hook(hook) for block in model.transformer.h]
'''
lesson.mutant("record_attention", "no try/finally: a failing forward pass leaves the hooks", "finally", _RECORD_HOOK + '''
    with torch.no_grad():
        model(idx)
    for handle in handles:
        handle.remove()
    return patterns
''')
lesson.mutant("record_attention", "no torch.no_grad(): the patterns keep an autograd graph", "torch.no_grad()",
              _RECORD_HOOK + '''
    try:
        model(idx)
    finally:
        for handle in handles:
            handle.remove()
    return patterns
''')
lesson.mutant("record_attention", "never removes its hooks", "hooks were still attached", '''
_solution_record_attention = record_attention
def record_attention(model, idx):
    out = _solution_record_attention(model, idx)
    model.transformer.h[0].attn.register_forward_hook(lambda m, a, o: None)
    return out
''')
lesson.mutant("record_residual_stream", "forgets the embeddings", "but not the embeddings", '''
def record_residual_stream(model, idx):
    stream = []
    handles = [b.register_forward_hook(lambda m, a, o: stream.append(o)) for b in model.transformer.h]
    try:
        with torch.no_grad():
            model(idx)
    finally:
        for h in handles:
            h.remove()
    return torch.stack(stream)
''')
lesson.mutant("record_residual_stream", "records block inputs instead of outputs", "the 3 block inputs", '''
def record_residual_stream(model, idx):
    stream = []
    handles = [b.register_forward_pre_hook(lambda m, a: stream.append(a[0])) for b in model.transformer.h]
    try:
        with torch.no_grad():
            model(idx)
    finally:
        for h in handles:
            h.remove()
    return torch.stack(stream)
''')
lesson.mutant("repeated_random_tokens", "draws the second half afresh", "not a copy", '''
def repeated_random_tokens(batch, seq_len, vocab_size, seed=0):
    g = torch.Generator().manual_seed(seed)
    first = torch.randint(1, vocab_size, (batch, seq_len), generator=g)
    second = torch.randint(1, vocab_size, (batch, seq_len), generator=g)
    return torch.cat([torch.full((batch, 1), BOS), first, second], dim=1)
''')
lesson.mutant("repeated_random_tokens", "uses the global generator", "same seed returned different", '''
def repeated_random_tokens(batch, seq_len, vocab_size, seed=0):
    first = torch.randint(1, vocab_size, (batch, seq_len))
    return torch.cat([torch.full((batch, 1), BOS), first, first], dim=1)
''')
lesson.mutant("per_position_loss", "forgets to shift the targets", "against token t itself", '''
def per_position_loss(logits, idx):
    return F.cross_entropy(logits.transpose(1, 2), idx, reduction="none")
''')
lesson.mutant("per_position_loss", "averages the losses", "reduction='none'", '''
def per_position_loss(logits, idx):
    return F.cross_entropy(logits[:, :-1].transpose(1, 2), idx[:, 1:])
''')
lesson.mutant("previous_token_score", "reads the diagonal", "not of the sub-diagonal", '''
def previous_token_score(pattern):
    return pattern.diagonal(dim1=-2, dim2=-1).mean(dim=(0, -1))
''')
lesson.mutant("induction_score", "attends to the previous occurrence itself", "off by one", '''
def induction_score(pattern, seq_len):
    T = pattern.shape[-1]
    query = torch.arange(T - seq_len, T)
    return pattern[:, :, query, query - seq_len].mean(dim=(0, -1))
''')
lesson.mutant("ablate_head", "zeroes strided channels", "every n_head-th channel", '''
@contextmanager
def ablate_head(model, layer, head):
    attn = model.transformer.h[layer].attn
    def zero_head(module, args):
        z = args[0].clone()
        B, T, C = z.shape
        z = z.view(B, T, C // attn.n_head, attn.n_head)
        z[..., head] = 0
        return (z.view(B, T, C),)
    handle = attn.c_proj.register_forward_pre_hook(zero_head)
    try:
        yield
    finally:
        handle.remove()
''')
lesson.mutant("ablate_head", "forgets to remove the hook", "still ablated", '''
@contextmanager
def ablate_head(model, layer, head):
    attn = model.transformer.h[layer].attn
    hs = attn.c_proj.in_features // attn.n_head
    def zero_head(module, args):
        z = args[0].clone()
        z[..., head * hs:(head + 1) * hs] = 0
        return (z,)
    attn.c_proj.register_forward_pre_hook(zero_head)
    yield
''')
lesson.mutant("ov_circuit", "uses the query weights", "used the query weights", '''
def ov_circuit(model, layer, head):
    attn = model.transformer.h[layer].attn
    C = attn.c_proj.in_features
    hs = C // attn.n_head
    rows = slice(head * hs, (head + 1) * hs)
    W_Q = attn.c_attn.weight[:C][rows].T
    W_O = attn.c_proj.weight[:, rows].T
    return (model.transformer.wte.weight @ W_Q @ W_O @ model.lm_head.weight.T).detach()
''')
lesson.mutant("ov_circuit", "takes rows of c_proj", "*rows* of c_proj.weight", '''
def ov_circuit(model, layer, head):
    attn = model.transformer.h[layer].attn
    C = attn.c_proj.in_features
    hs = C // attn.n_head
    rows = slice(head * hs, (head + 1) * hs)
    W_V = attn.c_attn.weight[2 * C:][rows].T
    W_O = attn.c_proj.weight[rows, :]
    return (model.transformer.wte.weight @ W_V @ W_O @ model.lm_head.weight.T).detach()
''')
lesson.mutant("record_residual_stream", "never removes its hooks", "hooks were still attached", '''
def record_residual_stream(model, idx):
    stream = []
    blocks = model.transformer.h
    blocks[0].register_forward_pre_hook(lambda module, args: stream.append(args[0]))
    for block in blocks:
        block.register_forward_hook(lambda module, args, output: stream.append(output))
    with torch.no_grad():
        model(idx)
    return torch.stack(stream)
''')
lesson.mutant("repeated_random_tokens", "BOS among the random ids (draws from 0)", "1 .. vocab_size - 1", '''
def repeated_random_tokens(batch, seq_len, vocab_size, seed=0):
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, vocab_size, (batch, seq_len), generator=g)
    return torch.cat([torch.full((batch, 1), BOS), tokens, tokens], dim=1)
''')
lesson.mutant("per_position_loss", "time axis taken as the class axis (no transpose)", "class", '''
def per_position_loss(logits, idx):
    return F.cross_entropy(logits[:, :-1], idx[:, 1:], reduction="none")
''')
lesson.mutant("previous_token_score", "counts position 0 (no previous token) as a zero", "T - 1 positions", '''
def previous_token_score(pattern):
    sub = pattern.diagonal(offset=-1, dim1=-2, dim2=-1)
    return sub.sum(dim=-1).mean(dim=0) / pattern.shape[-1]
''')
lesson.mutant("previous_token_score", "averages over heads instead of the batch", "one score per head", '''
def previous_token_score(pattern):
    return pattern.diagonal(offset=-1, dim1=-2, dim2=-1).mean(dim=(1, 2))
''')
lesson.mutant("induction_score", "key q - seq_len + 2 (off by one the other way)", "the other way", '''
def induction_score(pattern, seq_len):
    T = pattern.shape[-1]
    query = torch.arange(T - seq_len, T - 1)
    return pattern[:, :, query, query - seq_len + 2].mean(dim=(0, -1))
''')
lesson.mutant("induction_score", "assumes a BOS token in front", "BOS", '''
def induction_score(pattern, seq_len):
    T = pattern.shape[-1]
    query = torch.arange(seq_len + 1, T)
    return pattern[:, :, query, query - seq_len + 1].mean(dim=(0, -1))
''')
lesson.mutant("ablate_head", "no try/finally around the yield", "raised an exception", '''
@contextmanager
def ablate_head(model, layer, head):
    attn = model.transformer.h[layer].attn
    hs = attn.c_proj.in_features // attn.n_head
    def zero_head(module, args):
        z = args[0].clone()
        z[..., head * hs:(head + 1) * hs] = 0
        return (z,)
    handle = attn.c_proj.register_forward_pre_hook(zero_head)
    yield
    handle.remove()
''')
lesson.mutant("ablate_head", "zeroes the output of c_proj (every head)", "every head", '''
@contextmanager
def ablate_head(model, layer, head):
    handle = model.transformer.h[layer].attn.c_proj.register_forward_hook(lambda m, a, out: torch.zeros_like(out))
    try:
        yield
    finally:
        handle.remove()
''')
lesson.mutant("ov_circuit", "not detached", "detach", '''
def ov_circuit(model, layer, head):
    attn = model.transformer.h[layer].attn
    C = attn.c_proj.in_features
    hs = C // attn.n_head
    rows = slice(head * hs, (head + 1) * hs)
    W_V = attn.c_attn.weight[2 * C:][rows].T
    W_O = attn.c_proj.weight[:, rows].T
    return model.transformer.wte.weight @ W_V @ W_O @ model.lm_head.weight.T
''')
lesson.mutant("ov_circuit", "uses the key weights", "used the key weights", '''
def ov_circuit(model, layer, head):
    attn = model.transformer.h[layer].attn
    C = attn.c_proj.in_features
    hs = C // attn.n_head
    rows = slice(head * hs, (head + 1) * hs)
    W_K = attn.c_attn.weight[C:2 * C][rows].T
    W_O = attn.c_proj.weight[:, rows].T
    return (model.transformer.wte.weight @ W_K @ W_O @ model.lm_head.weight.T).detach()
''')


# ---------------------------------------------------------------- alternatives (correct, written differently)

lesson.alternative("record_attention", "einsum, torch.where mask, handles closed by an ExitStack, inference_mode", '''
def record_attention(model, idx):
    from contextlib import ExitStack
    patterns = []
    def hook(module, args, output):
        x = args[0]
        B, T, C = x.shape
        H = module.n_head
        qkv = module.c_attn(x).reshape(B, T, 3, H, C // H)
        scores = torch.einsum("bqhd,bkhd->bhqk", qkv[:, :, 0], qkv[:, :, 1]) * (C // H) ** -0.5
        allowed = torch.arange(T)[None, :] <= torch.arange(T)[:, None]
        patterns.append(F.softmax(torch.where(allowed, scores, torch.tensor(float("-inf"))), dim=-1))
    with ExitStack() as stack:
        for block in model.transformer.h:
            stack.enter_context(block.attn.register_forward_hook(hook))
        with torch.inference_mode():
            model(idx)
    return patterns
''')
lesson.alternative("record_attention", "pre-hooks, and the pattern as SDPA applied to identity values", '''
def record_attention(model, idx):
    patterns = []
    def pre_hook(module, args):
        x = args[0]
        B, T, C = x.shape
        q, k, _ = module.c_attn(x).chunk(3, dim=-1)
        q, k = (t.reshape(B, T, module.n_head, -1).permute(0, 2, 1, 3) for t in (q, k))
        eye = torch.eye(T).expand(B, module.n_head, T, T)   # values = one-hot positions: out = pattern @ I
        patterns.append(F.scaled_dot_product_attention(q, k, eye, is_causal=True))
    handles = []
    try:
        for block in model.transformer.h:
            handles.append(block.attn.register_forward_pre_hook(pre_hook))
        with torch.no_grad():
            model(idx)
    finally:
        while handles:
            handles.pop().remove()
    return patterns
''')
lesson.alternative("record_attention", "q and k kept by the hook, patterns computed after the pass with a -1e9 mask", '''
def record_attention(model, idx):
    kept = []
    def hook(module, args, output):
        C = args[0].shape[-1]
        q, k, _ = module.c_attn(args[0]).split(C, dim=-1)
        kept.append((q, k, module.n_head))
    handles = [block.attn.register_forward_hook(hook) for block in model.transformer.h]
    try:
        with torch.no_grad():
            model(idx)
    finally:
        for handle in handles:
            handle.remove()
    patterns = []
    for q, k, H in kept:
        B, T, C = q.shape
        hs = C // H
        heads = [(q[..., h * hs:(h + 1) * hs] @ k[..., h * hs:(h + 1) * hs].transpose(1, 2)) / math.sqrt(hs)
                 for h in range(H)]
        scores = torch.stack(heads, dim=1).masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), -1e9)
        patterns.append(scores.softmax(-1))
    return patterns
''')
lesson.alternative("record_residual_stream", "pre-hooks on every block and a hook on the last one", '''
def record_residual_stream(model, idx):
    inputs, last = [], []
    blocks = list(model.transformer.h)
    handles = [b.register_forward_pre_hook(lambda m, args: inputs.append(args[0].clone())) for b in blocks]
    handles.append(blocks[-1].register_forward_hook(lambda m, args, out: last.append(out)))
    try:
        with torch.no_grad():
            model(idx)
    finally:
        for h in handles:
            h.remove()
    return torch.cat([torch.stack(inputs), torch.stack(last)])
''')
lesson.alternative("record_residual_stream", "one dict keyed by depth, hooks as context managers, unsqueeze + cat", '''
def record_residual_stream(model, idx):
    from contextlib import ExitStack
    by_depth = {}
    blocks = model.transformer.h
    with ExitStack() as stack, torch.no_grad():
        stack.enter_context(blocks[0].register_forward_pre_hook(lambda m, a: by_depth.setdefault(0, a[0])))
        for i, block in enumerate(blocks):
            stack.enter_context(block.register_forward_hook(
                lambda m, a, out, depth=i + 1: by_depth.setdefault(depth, out)))
        model(idx)
    return torch.cat([by_depth[d].unsqueeze(0) for d in sorted(by_depth)], dim=0)
''')
lesson.alternative("repeated_random_tokens", "one row at a time from the same generator", '''
def repeated_random_tokens(batch, seq_len, vocab_size, seed=0):
    g = torch.Generator()
    g.manual_seed(seed)
    rows = []
    for _ in range(batch):
        block = torch.randint(1, vocab_size, (seq_len,), generator=g)
        rows.append(torch.cat([torch.tensor([BOS]), block, block]))
    return torch.stack(rows)
''')
lesson.alternative("repeated_random_tokens", "numpy's Generator, shifted by one, repeat", '''
def repeated_random_tokens(batch, seq_len, vocab_size, seed=0):
    import numpy as np
    rng = np.random.default_rng(seed)
    block = torch.from_numpy(rng.integers(0, vocab_size - 1, size=(batch, seq_len))) + 1
    return torch.hstack([torch.zeros(batch, 1, dtype=torch.long) + BOS, block.repeat(1, 2)]).long()
''')
lesson.alternative("per_position_loss", "log_softmax and gather", '''
def per_position_loss(logits, idx):
    logp = torch.log_softmax(logits[:, :-1], dim=-1)
    return -logp.gather(-1, idx[:, 1:].unsqueeze(-1)).squeeze(-1)
''')
lesson.alternative("per_position_loss", "F.nll_loss on the flattened positions, reshaped back", '''
def per_position_loss(logits, idx):
    B, T, V = logits.shape
    flat = F.log_softmax(logits[:, :T - 1].reshape(-1, V), dim=1)
    return F.nll_loss(flat, idx[:, 1:].reshape(-1), reduction="none").view(B, T - 1)
''')
lesson.alternative("per_position_loss", "a loop over positions with cross_entropy per position, in float64", '''
def per_position_loss(logits, idx):
    losses = [F.cross_entropy(logits[:, t].double(), idx[:, t + 1], reduction="none") for t in range(logits.shape[1] - 1)]
    return torch.stack(losses, dim=1)
''')
lesson.alternative("previous_token_score", "index arrays", '''
def previous_token_score(pattern):
    t = torch.arange(1, pattern.shape[-1])
    return pattern[..., t, t - 1].mean(dim=-1).mean(dim=0)
''')
lesson.alternative("previous_token_score", "a loop over positions, sum divided by count", '''
def previous_token_score(pattern):
    B, H, T, _ = pattern.shape
    total = torch.zeros(H, dtype=pattern.dtype)
    for t in range(1, T):
        total += pattern[:, :, t, t - 1].sum(dim=0)
    return total / (B * (T - 1))
''')
lesson.alternative("induction_score", "the diagonal at offset -(seq_len - 1), its last seq_len entries", '''
def induction_score(pattern, seq_len):
    stripe = pattern.diagonal(offset=-(seq_len - 1), dim1=-2, dim2=-1)
    return stripe[..., -seq_len:].mean(dim=(0, -1))
''')
lesson.alternative("induction_score", "a loop over the queries of the second copy", '''
def induction_score(pattern, seq_len):
    T = pattern.shape[-1]
    scores = [pattern[:, :, q, q - seq_len + 1].mean(dim=0) for q in range(T - seq_len, T)]
    return sum(scores) / len(scores)
''')
lesson.alternative("ablate_head", "zero the head's columns of c_proj.weight, restore them in finally", '''
@contextmanager
def ablate_head(model, layer, head):
    c_proj = model.transformer.h[layer].attn.c_proj
    hs = c_proj.in_features // model.transformer.h[layer].attn.n_head
    saved = c_proj.weight.detach().clone()
    with torch.no_grad():
        c_proj.weight[:, head * hs:(head + 1) * hs] = 0
    try:
        yield
    finally:
        with torch.no_grad():
            c_proj.weight.copy_(saved)
''')
lesson.alternative("ablate_head", "the handle as a context manager, a mask multiplied in", '''
@contextmanager
def ablate_head(model, layer, head):
    attn = model.transformer.h[layer].attn
    C = attn.c_proj.in_features
    keep = torch.ones(C)
    keep.view(attn.n_head, C // attn.n_head)[head] = 0
    with attn.c_proj.register_forward_pre_hook(lambda module, args: (args[0] * keep,)):
        yield
''')
lesson.alternative("ablate_head", "view as (B, T, n_head, hs), index the head", '''
@contextmanager
def ablate_head(model, layer, head):
    attn = model.transformer.h[layer].attn
    def zero_head(module, args):
        z = args[0]
        B, T, C = z.shape
        z = z.reshape(B, T, attn.n_head, C // attn.n_head).clone()
        z[:, :, head] = 0.0
        return (z.reshape(B, T, C),)
    handle = attn.c_proj.register_forward_pre_hook(zero_head)
    try:
        yield
    finally:
        handle.remove()
''')
lesson.alternative("ov_circuit", "weights viewed as (3, n_head, hs, C), einsum, no_grad", '''
def ov_circuit(model, layer, head):
    attn = model.transformer.h[layer].attn
    C = attn.c_proj.in_features
    H = attn.n_head
    with torch.no_grad():
        W_V = attn.c_attn.weight.view(3, H, C // H, C)[2, head]        # (hs, C)
        W_O = attn.c_proj.weight.view(C, H, C // H)[:, head]           # (C, hs)
        return torch.einsum("vc,hc,dh,wd->vw", model.transformer.wte.weight, W_V, W_O, model.lm_head.weight)
''')
lesson.alternative("ov_circuit", "chunk, multiplied right to left, in float64 then back", '''
def ov_circuit(model, layer, head):
    attn = model.transformer.h[layer].attn
    hs = attn.c_proj.in_features // attn.n_head
    _, _, W_v = attn.c_attn.weight.double().chunk(3, dim=0)
    W_V = W_v[head * hs:(head + 1) * hs].T
    W_O = attn.c_proj.weight.double()[:, head * hs:(head + 1) * hs].T
    W_U = model.lm_head.weight.double().T
    out = model.transformer.wte.weight.double() @ (W_V @ (W_O @ W_U))
    return out.float().detach()
''')
