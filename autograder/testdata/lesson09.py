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
