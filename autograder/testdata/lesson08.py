"""Lesson 08 test data: known-wrong answers (mutants) that the checks must catch, each with its
own message, and correct answers written differently (alternatives) that they must accept."""

from __future__ import annotations

from ..practice.lesson08 import lesson

lesson.mutant("get_batch", "targets not shifted", "not shifted", """
def get_batch(data, block_size, batch_size):
    ix = torch.randint(len(data) - block_size, (batch_size,))
    x = torch.stack([data[i:i + block_size] for i in ix])
    return x, x.clone()
""")
lesson.mutant("get_batch", "never draws the last window", "never started at", """
def get_batch(data, block_size, batch_size):
    ix = torch.randint(len(data) - block_size - 1, (batch_size,))
    x = torch.stack([data[i:i + block_size] for i in ix])
    y = torch.stack([data[i + 1:i + 1 + block_size] for i in ix])
    return x, y
""")
lesson.mutant("get_batch", "uses Python's random module", "torch.randint", """
import random as _random
def get_batch(data, block_size, batch_size):
    ix = [_random.randrange(len(data) - block_size) for _ in range(batch_size)]
    x = torch.stack([data[i:i + block_size] for i in ix])
    y = torch.stack([data[i + 1:i + 1 + block_size] for i in ix])
    return x, y
""")
lesson.mutant("CausalSelfAttention", "causal mask missing", "causal mask", """
_Sol = CausalSelfAttention
class CausalSelfAttention(_Sol):
    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v)
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C)))
""")
lesson.mutant("CausalSelfAttention", "heads merged without transposing back", "merged the wrong way", """
_Sol = CausalSelfAttention
class CausalSelfAttention(_Sol):
    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.resid_dropout(self.c_proj(y.reshape(B, T, C)))
""")
lesson.mutant("CausalSelfAttention", "heads split by viewing (B, nh, T, hs) directly", "split the wrong way", """
_Sol = CausalSelfAttention
class CausalSelfAttention(_Sol):
    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.reshape(B, self.n_head, T, C // self.n_head) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.resid_dropout(self.c_proj(y.reshape(B, T, C)))
""")
lesson.mutant("CausalSelfAttention", "attention dropout still active in eval mode", "eval mode", """
_Sol = CausalSelfAttention
class CausalSelfAttention(_Sol):
    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=self.dropout)
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C)))
""")
lesson.mutant("CausalSelfAttention", "no attention dropout while training", "never dropped out", """
_Sol = CausalSelfAttention
class CausalSelfAttention(_Sol):
    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C)))
""")
lesson.mutant("MLP", "exact GELU instead of GPT-2's tanh approximation", "tanh approximation", """
_Sol = MLP
class MLP(_Sol):
    def forward(self, x):
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x))))
""")
lesson.mutant("MLP", "ReLU instead of GELU", "uses ReLU", """
_Sol = MLP
class MLP(_Sol):
    def forward(self, x):
        return self.dropout(self.c_proj(F.relu(self.c_fc(x))))
""")
lesson.mutant("MLP", "no dropout on the output", "dropout on the output", """
_Sol = MLP
class MLP(_Sol):
    def forward(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))
""")
lesson.mutant("Block", "post-norm", "post-norm", """
_Sol = Block
class Block(_Sol):
    def forward(self, x):
        x = self.ln_1(x + self.attn(x))
        return self.ln_2(x + self.mlp(x))
""")
lesson.mutant("Block", "no residual connection around the MLP", "residual connection is missing", """
_Sol = Block
class Block(_Sol):
    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return self.mlp(self.ln_2(x))
""")
lesson.mutant("GPT", "weight tying broken", "weight tying", """
_Sol = GPT
class GPT(_Sol):
    def __init__(self, config):
        super().__init__(config)
        self.lm_head.weight = nn.Parameter(self.transformer.wte.weight.detach().clone())
""")
lesson.mutant("GPT", "positions not added", "position embeddings are not added", """
_Sol = GPT
class GPT(_Sol):
    def forward(self, idx, targets=None):
        x = self.transformer.drop(self.transformer.wte(idx))
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        loss = None if targets is None else F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss
""")
lesson.mutant("GPT", "PyTorch's default initialisation", "ln(vocab)", """
_Sol = GPT
class GPT(_Sol):
    def _init_weights(self, module):
        pass
""")
lesson.mutant("GPT", "residual projections not scaled", "sqrt(2*n_layer)", """
_Sol = GPT
class GPT(_Sol):
    def __init__(self, config):
        super().__init__(config)
        self.apply(self._init_weights)
""")
lesson.mutant("GPT", "loss on the last position only", "last position only", """
_Sol = GPT
class GPT(_Sol):
    def forward(self, idx, targets=None):
        logits, _ = super().forward(idx)
        loss = None if targets is None else F.cross_entropy(logits[:, -1], targets[:, -1])
        return logits, loss
""")
lesson.mutant("GPT", "wrong module names", "parameter names differ", """
_Sol = GPT
class GPT(_Sol):
    def __init__(self, config):
        super().__init__(config)
        self.transformer["blocks"] = self.transformer.h
        del self.transformer["h"]
""")
_GPT_FORWARD = '''
_Sol = GPT
class GPT(_Sol):
    def forward(self, idx, targets=None):
        B, T = idx.shape
        x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(T))
'''
lesson.mutant("GPT", "transformer.drop never applied", "transformer.drop", _GPT_FORWARD + """
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        loss = None if targets is None else F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss
""")
lesson.mutant("GPT", "no final LayerNorm", "final LayerNorm", _GPT_FORWARD + """
        x = self.transformer.drop(x)
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(x)
        loss = None if targets is None else F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss
""")
lesson.mutant("GPT", "logits of the last position only without targets (nanoGPT's shortcut)", "every position",
              _GPT_FORWARD + """
        x = self.transformer.drop(x)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        if targets is None:
            return self.lm_head(x[:, [-1], :]), None
        logits = self.lm_head(x)
        return logits, F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
""")
lesson.mutant("load_gpt2_state_dict", "Conv1D weights not transposed", "Conv1D", """
def load_gpt2_state_dict(model, hf_state_dict):
    own = model.state_dict()
    with torch.no_grad():
        for name, tensor in hf_state_dict.items():
            if name in own:
                own[name].copy_(tensor)
    return model
""")
lesson.mutant("load_gpt2_state_dict", "transposes by shape (misses the square c_proj)", "cannot tell you", """
def load_gpt2_state_dict(model, hf_state_dict):
    own = model.state_dict()
    with torch.no_grad():
        for name, tensor in hf_state_dict.items():
            if name in own:
                own[name].copy_(tensor if tensor.shape == own[name].shape else tensor.t())
    return model
""")
lesson.mutant("load_gpt2_state_dict", "does not skip the mask buffers", "masked_bias", """
def load_gpt2_state_dict(model, hf_state_dict):
    conv1d = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
    own = model.state_dict()
    with torch.no_grad():
        for name, tensor in hf_state_dict.items():
            own[name].copy_(tensor.t() if name.endswith(conv1d) else tensor)
    return model
""")
lesson.mutant("load_gpt2_state_dict", "skips the biases", "was not copied", """
def load_gpt2_state_dict(model, hf_state_dict):
    conv1d = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
    own = model.state_dict()
    with torch.no_grad():
        for name, tensor in hf_state_dict.items():
            if name in own and not name.endswith("bias"):
                own[name].copy_(tensor.t() if name.endswith(conv1d) else tensor)
    return model
""")
lesson.mutant("configure_optimizer", "decays every parameter", "should not be decayed", """
def configure_optimizer(model, weight_decay, learning_rate, betas=(0.9, 0.95)):
    return torch.optim.AdamW(model.parameters(), lr=learning_rate, betas=betas, weight_decay=weight_decay)
""")
lesson.mutant("configure_optimizer", "Adam instead of AdamW", "AdamW", """
def configure_optimizer(model, weight_decay, learning_rate, betas=(0.9, 0.95)):
    params = list(model.parameters())
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.Adam(groups, lr=learning_rate, betas=betas)
""")
lesson.mutant("configure_optimizer", "no weight decay at all", "has weight decay 0", """
def configure_optimizer(model, weight_decay, learning_rate, betas=(0.9, 0.95)):
    return torch.optim.AdamW(model.parameters(), lr=learning_rate, betas=betas, weight_decay=0.0)
""")
lesson.mutant("get_lr", "no warmup", "no warmup", """
def get_lr(it, warmup_iters, max_iters, max_lr, min_lr):
    ratio = min(max(it / max_iters, 0.0), 1.0)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (max_lr - min_lr)
""")
lesson.mutant("get_lr", "decays to zero instead of min_lr", "not 0", """
def get_lr(it, warmup_iters, max_iters, max_lr, min_lr):
    if it < warmup_iters:
        return max_lr * (it + 1) / (warmup_iters + 1)
    ratio = min((it - warmup_iters) / (max_iters - warmup_iters), 1.0)
    return 0.5 * (1.0 + math.cos(math.pi * ratio)) * max_lr
""")
lesson.mutant("get_lr", "linear decay", "straight line", """
def get_lr(it, warmup_iters, max_iters, max_lr, min_lr):
    if it < warmup_iters:
        return max_lr * (it + 1) / (warmup_iters + 1)
    if it > max_iters:
        return min_lr
    ratio = (it - warmup_iters) / (max_iters - warmup_iters)
    return max_lr - ratio * (max_lr - min_lr)
""")
lesson.mutant("estimate_loss", "eval without torch.no_grad()", "torch.no_grad()", """
def estimate_loss(model, splits, eval_iters, batch_size):
    model.eval()
    out = {}
    for name, split in splits.items():
        losses = [model(*get_batch(split, model.config.block_size, batch_size))[1].item() for _ in range(eval_iters)]
        out[name] = sum(losses) / len(losses)
    model.train()
    return out
""")
lesson.mutant("estimate_loss", "eval without model.eval()", "model.eval()", """
def estimate_loss(model, splits, eval_iters, batch_size):
    out = {}
    with torch.no_grad():
        for name, split in splits.items():
            losses = [model(*get_batch(split, model.config.block_size, batch_size))[1].item() for _ in range(eval_iters)]
            out[name] = sum(losses) / len(losses)
    return out
""")
lesson.mutant("estimate_loss", "does not restore training mode", "model.train()", """
def estimate_loss(model, splits, eval_iters, batch_size):
    model.eval()
    out = {}
    with torch.no_grad():
        for name, split in splits.items():
            losses = [model(*get_batch(split, model.config.block_size, batch_size))[1].item() for _ in range(eval_iters)]
            out[name] = sum(losses) / len(losses)
    return out
""")
lesson.mutant("estimate_loss", "returns the last loss, not the mean", "their mean", """
def estimate_loss(model, splits, eval_iters, batch_size):
    model.eval()
    out = {}
    with torch.no_grad():
        for name, split in splits.items():
            for _ in range(eval_iters):
                out[name] = model(*get_batch(split, model.config.block_size, batch_size))[1].item()
    model.train()
    return out
""")
lesson.mutant("estimate_loss", "returns tensors instead of floats", "Python float", """
def estimate_loss(model, splits, eval_iters, batch_size):
    model.eval()
    out = {}
    with torch.no_grad():
        for name, split in splits.items():
            losses = [model(*get_batch(split, model.config.block_size, batch_size))[1] for _ in range(eval_iters)]
            out[name] = torch.stack(losses).mean()
    model.train()
    return out
""")
lesson.mutant("filter_logits", "top-p drops the token that crosses p", "crosses 0.7", """
_sol_filter = filter_logits
def filter_logits(logits, top_k=None, top_p=None):
    logits = _sol_filter(logits, top_k, None)
    if top_p is not None:
        sorted_logits, order = torch.sort(logits, descending=True)
        remove = sorted_logits.softmax(-1).cumsum(-1) > top_p
        remove[..., 0] = False
        logits[remove.scatter(-1, order, remove)] = float("-inf")
    return logits
""")
lesson.mutant("filter_logits", "modifies the input in place", "in place", """
def filter_logits(logits, top_k=None, top_p=None):
    if top_k is not None:
        kth = torch.topk(logits, top_k).values[..., -1:]
        logits[logits < kth] = float("-inf")
    if top_p is not None:
        sorted_logits, order = torch.sort(logits, descending=True)
        p = sorted_logits.softmax(-1)
        remove = (p.cumsum(-1) - p) >= top_p
        logits[remove.scatter(-1, order, remove)] = float("-inf")
    return logits
""")
lesson.mutant("filter_logits", "top-k keeps one token too many", "top_k=3 kept 4", """
_sol_filter = filter_logits
def filter_logits(logits, top_k=None, top_p=None):
    return _sol_filter(logits, None if top_k is None else top_k + 1, top_p)
""")
lesson.mutant("filter_logits", "top-p on unsorted probabilities", "TopPLogitsWarper", """
_sol_filter = filter_logits
def filter_logits(logits, top_k=None, top_p=None):
    logits = _sol_filter(logits, top_k, None)
    if top_p is not None:
        p = logits.softmax(-1)
        logits[(p.cumsum(-1) - p) >= top_p] = float("-inf")
    return logits
""")
lesson.mutant("filter_logits", "top-k keeps exactly k positions (drops ties)", "ties", """
_sol_filter = filter_logits
def filter_logits(logits, top_k=None, top_p=None):
    logits = logits.clone()
    if top_k is not None:
        keep = torch.topk(logits, min(top_k, logits.size(-1))).indices
        logits = torch.full_like(logits, float("-inf")).scatter(-1, keep, logits.gather(-1, keep))
    return _sol_filter(logits, None, top_p)
""")
lesson.mutant("filter_logits", "top-k removes the k-th largest too (<=): nothing is left for top_k=1", "removed every token", """
_sol_filter = filter_logits
def filter_logits(logits, top_k=None, top_p=None):
    logits = logits.clone()
    if top_k is not None:
        kth = torch.topk(logits, top_k).values[..., -1:]
        logits[logits <= kth] = float("-inf")
    return _sol_filter(logits, None, top_p)
""")
lesson.mutant("generate", "context not cropped to block_size", "block_size", """
@torch.no_grad()
def generate(model, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None):
    for _ in range(max_new_tokens):
        logits, _ = model(idx)
        logits = filter_logits(logits[:, -1, :] / temperature, top_k, top_p)
        idx = torch.cat((idx, torch.multinomial(F.softmax(logits, dim=-1), num_samples=1)), dim=1)
    return idx
""")
lesson.mutant("generate", "multiplies by the temperature", "multiplied by the temperature", """
@torch.no_grad()
def generate(model, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None):
    for _ in range(max_new_tokens):
        logits, _ = model(idx[:, -model.config.block_size:])
        logits = filter_logits(logits[:, -1, :] * temperature, top_k, top_p)
        idx = torch.cat((idx, torch.multinomial(F.softmax(logits, dim=-1), num_samples=1)), dim=1)
    return idx
""")
lesson.mutant("generate", "ignores top_k", "top_k is ignored", """
@torch.no_grad()
def generate(model, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None):
    for _ in range(max_new_tokens):
        logits, _ = model(idx[:, -model.config.block_size:])
        logits = filter_logits(logits[:, -1, :] / temperature, None, top_p)
        idx = torch.cat((idx, torch.multinomial(F.softmax(logits, dim=-1), num_samples=1)), dim=1)
    return idx
""")
lesson.mutant("generate", "uses the first position's logits", "last position", """
@torch.no_grad()
def generate(model, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None):
    for _ in range(max_new_tokens):
        logits, _ = model(idx[:, -model.config.block_size:])
        logits = filter_logits(logits[:, 0, :] / temperature, top_k, top_p)
        idx = torch.cat((idx, torch.multinomial(F.softmax(logits, dim=-1), num_samples=1)), dim=1)
    return idx
""")
lesson.mutant("generate", "greedy argmax instead of sampling", "do not take the argmax", """
@torch.no_grad()
def generate(model, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None):
    for _ in range(max_new_tokens):
        logits, _ = model(idx[:, -model.config.block_size:])
        logits = filter_logits(logits[:, -1, :] / temperature, top_k, top_p)
        idx = torch.cat((idx, logits.argmax(-1, keepdim=True)), dim=1)
    return idx
""")
lesson.mutant("generate", "temperature applied after filtering", "after filtering", """
@torch.no_grad()
def generate(model, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None):
    for _ in range(max_new_tokens):
        logits, _ = model(idx[:, -model.config.block_size:])
        logits = filter_logits(logits[:, -1, :], top_k, top_p) / temperature
        idx = torch.cat((idx, torch.multinomial(F.softmax(logits, dim=-1), num_samples=1)), dim=1)
    return idx
""")
lesson.mutant("generate", "its own top-k leaves nothing for top_k=1 (torch.multinomial fails)", "every logit of a row is -inf", """
@torch.no_grad()
def generate(model, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None):
    for _ in range(max_new_tokens):
        logits, _ = model(idx[:, -model.config.block_size:])
        logits = logits[:, -1, :] / temperature
        if top_k is not None:
            kth = torch.topk(logits, top_k).values[:, -1:]
            logits = logits.masked_fill(logits <= kth, float("-inf"))
        logits = filter_logits(logits, None, top_p)
        idx = torch.cat((idx, torch.multinomial(F.softmax(logits, dim=-1), num_samples=1)), dim=1)
    return idx
""")


# ---------------------------------------------------------------- alternatives (correct, written differently)

lesson.alternative("get_batch", "one index tensor for every window (broadcasting)", """
def get_batch(data, block_size, batch_size):
    starts = torch.randint(0, len(data) - block_size, (batch_size, 1))
    window = data[starts + torch.arange(block_size + 1)]
    return window[:, :-1], window[:, 1:]
""")
lesson.alternative("get_batch", "unfold into all windows, then pick rows", """
def get_batch(data, block_size, batch_size):
    windows = data.unfold(0, block_size + 1, 1)
    picked = windows[torch.randint(windows.shape[0], (batch_size,))]
    return picked[:, :block_size].clone(), picked[:, 1:].clone()
""")
lesson.alternative("CausalSelfAttention", "attention written out: -inf mask, softmax, F.dropout", """
_Sol = CausalSelfAttention
class CausalSelfAttention(_Sol):
    def forward(self, x):
        B, T, C = x.size()
        hs = C // self.n_head
        q, k, v = self.c_attn(x).chunk(3, dim=-1)
        q, k, v = (t.reshape(B, T, self.n_head, hs).permute(0, 2, 1, 3) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
        future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        att = att.masked_fill(future, float("-inf")).softmax(dim=-1)
        att = F.dropout(att, p=self.dropout, training=self.training)
        y = (att @ v).permute(0, 2, 1, 3).reshape(B, T, C)
        return self.resid_dropout(self.c_proj(y))
""")
lesson.alternative("CausalSelfAttention", "einsum without moving the head axis, and a -1e9 mask", """
_Sol = CausalSelfAttention
class CausalSelfAttention(_Sol):
    def forward(self, x):
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = (t.view(B, T, self.n_head, hs) for t in self.c_attn(x).split(C, dim=-1))
        att = torch.einsum("bqhd,bkhd->bhqk", q, k) * hs ** -0.5
        att = att.masked_fill(torch.ones(T, T).tril() == 0, -1e9).softmax(-1)
        if self.training and self.dropout > 0:
            att = F.dropout(att, self.dropout)
        y = torch.einsum("bhqk,bkhd->bqhd", att, v).reshape(B, T, C)
        return self.resid_dropout(self.c_proj(y))
""")
lesson.alternative("CausalSelfAttention", "F.scaled_dot_product_attention with a boolean mask", """
_Sol = CausalSelfAttention
class CausalSelfAttention(_Sol):
    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.unflatten(-1, (self.n_head, -1)).transpose(1, 2) for t in (q, k, v))
        allowed = torch.ones(T, T, dtype=torch.bool).tril()
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, dropout_p=p)
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).flatten(2)))
""")
lesson.alternative("MLP", "functional tanh GELU", """
_Sol = MLP
class MLP(_Sol):
    def forward(self, x):
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x), approximate="tanh")))
""")
lesson.alternative("MLP", "the tanh formula written out", """
_Sol = MLP
class MLP(_Sol):
    def forward(self, x):
        h = self.c_fc(x)
        h = 0.5 * h * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (h + 0.044715 * torch.pow(h, 3.0))))
        return self.dropout(self.c_proj(h))
""")
lesson.alternative("Block", "named intermediate results", """
_Sol = Block
class Block(_Sol):
    def forward(self, x):
        attended = self.attn(self.ln_1(x))
        h = x + attended
        return h + self.mlp(self.ln_2(h))
""")
lesson.alternative("Block", "a loop over (norm, sublayer) pairs", """
_Sol = Block
class Block(_Sol):
    def forward(self, x):
        for norm, sublayer in ((self.ln_1, self.attn), (self.ln_2, self.mlp)):
            x = x + sublayer(norm(x))
        return x
""")
lesson.alternative("GPT", "head created first and tied the other way, init per block, loss on (B, V, T)", """
_Sol = GPT
class GPT(_Sol):
    def __init__(self, config):
        nn.Module.__init__(self)
        self.config = config
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList(Block(config) for _ in range(config.n_layer)),
            ln_f=nn.LayerNorm(config.n_embd, bias=config.bias)))
        self.transformer.wte.weight = self.lm_head.weight
        self.apply(self._init_weights)
        for block in self.transformer.h:
            for projection in (block.attn.c_proj, block.mlp.c_proj):
                torch.nn.init.normal_(projection.weight, std=0.02 / (2 * config.n_layer) ** 0.5)

    def forward(self, idx, targets=None):
        T = idx.size(1)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe.weight[:T])
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        loss = None if targets is None else F.cross_entropy(logits.transpose(1, 2), targets)
        return logits, loss
""")
lesson.alternative("GPT", "modules in another order, positions as (1, T), init by name with .data", """
_Sol = GPT
class GPT(_Sol):
    def __init__(self, config):
        nn.Module.__init__(self)
        self.config = config
        blocks = [Block(config) for _ in range(config.n_layer)]
        self.transformer = nn.ModuleDict({
            "wpe": nn.Embedding(config.block_size, config.n_embd),
            "wte": nn.Embedding(config.vocab_size, config.n_embd),
            "h": nn.ModuleList(blocks),
            "ln_f": nn.LayerNorm(config.n_embd, bias=config.bias),
            "drop": nn.Dropout(config.dropout),
        })
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.transformer["wte"].weight
        for module in self.modules():
            self._init_weights(module)
        std = 0.02 / math.sqrt(2 * config.n_layer)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                p.data.normal_(0.0, std)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        pos = torch.arange(0, T, dtype=torch.long, device=idx.device).unsqueeze(0)
        h = self.transformer["drop"](self.transformer["wte"](idx) + self.transformer["wpe"](pos))
        for block in self.transformer["h"]:
            h = block(h)
        logits = self.lm_head(self.transformer["ln_f"](h))
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.flatten(0, 1), targets.flatten())
""")
lesson.alternative("load_gpt2_state_dict", "walk the model's parameters, decide by module name, return nothing", """
def load_gpt2_state_dict(model, hf_state_dict):
    transposed = {"c_attn", "c_proj", "c_fc"}
    with torch.no_grad():
        for name, param in model.named_parameters(remove_duplicate=False):
            if name not in hf_state_dict:
                continue
            source = hf_state_dict[name]
            module = name.split(".")[-2]
            param.copy_(source.T if module in transposed and name.endswith(".weight") else source)
""")
lesson.alternative("load_gpt2_state_dict", "a converted state dict loaded non-strictly", """
def load_gpt2_state_dict(model, hf_state_dict):
    conv1d = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
    own = model.state_dict()
    converted = {name: (t.t().contiguous() if name.endswith(conv1d) else t)
                 for name, t in hf_state_dict.items() if name in own}
    model.load_state_dict(converted, strict=False)
    return model
""")
lesson.alternative("configure_optimizer", "a dict of named parameters, split by ndim (nanoGPT's way)", """
def configure_optimizer(model, weight_decay, learning_rate, betas=(0.9, 0.95)):
    named = {n: p for n, p in model.named_parameters() if p.requires_grad}
    decay = [p for p in named.values() if p.ndim >= 2]
    no_decay = [p for p in named.values() if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=learning_rate, betas=betas)
""")
lesson.alternative("configure_optimizer", "one loop; the default weight decay given to AdamW itself", """
def configure_optimizer(model, weight_decay, learning_rate, betas=(0.9, 0.95)):
    decay, rest = [], []
    for p in model.parameters():
        (decay if len(p.shape) > 1 else rest).append(p)
    groups = [dict(params=rest, weight_decay=0.0), dict(params=decay)]
    return torch.optim.AdamW(groups, lr=learning_rate, betas=betas, weight_decay=weight_decay)
""")
lesson.alternative("get_lr", "clamped progress, the cosine counted down from max_lr", """
def get_lr(it, warmup_iters, max_iters, max_lr, min_lr):
    if it < warmup_iters:
        return max_lr * (it + 1) / (warmup_iters + 1)
    progress = min(1.0, (it - warmup_iters) / (max_iters - warmup_iters))
    return max_lr - (max_lr - min_lr) * (1 - math.cos(math.pi * progress)) / 2
""")
lesson.alternative("get_lr", "numpy inside (interp for the warmup, clip for the progress)", """
import numpy as _np
def get_lr(it, warmup_iters, max_iters, max_lr, min_lr):
    if it < warmup_iters:
        return float(_np.interp(it + 1, [0, warmup_iters + 1], [0.0, max_lr]))
    r = float(_np.clip((it - warmup_iters) / (max_iters - warmup_iters), 0.0, 1.0))
    return float(min_lr + (max_lr - min_lr) * (1 + _np.cos(_np.pi * r)) / 2)
""")
lesson.alternative("estimate_loss", "@torch.no_grad() decorator, a tensor of losses, the previous mode restored", """
@torch.no_grad()
def estimate_loss(model, splits, eval_iters, batch_size):
    was_training = model.training
    model.eval()
    result = {}
    for name, data in splits.items():
        losses = torch.zeros(eval_iters)
        for k in range(eval_iters):
            xb, yb = get_batch(data, model.config.block_size, batch_size)
            _, loss = model(xb, yb)
            losses[k] = loss.item()
        result[name] = losses.mean().item()
    model.train(was_training)
    return result
""")
lesson.alternative("estimate_loss", "torch.inference_mode, statistics.fmean, try/finally", """
import statistics as _statistics
def estimate_loss(model, splits, eval_iters, batch_size):
    model.eval()
    try:
        with torch.inference_mode():
            return {name: _statistics.fmean(model(*get_batch(data, model.config.block_size, batch_size))[1].item()
                                            for _ in range(eval_iters))
                    for name, data in splits.items()}
    finally:
        model.train()
""")
lesson.alternative("filter_logits", "top-k from a sort, top-p by a loop over each row", """
def filter_logits(logits, top_k=None, top_p=None):
    out = logits.clone()
    if top_k is not None:
        k = min(top_k, out.size(-1))
        kth = out.sort(dim=-1, descending=True).values[:, k - 1:k]
        out = out.masked_fill(out < kth, float("-inf"))
    if top_p is not None:
        for row in out:
            probs = torch.softmax(row, dim=-1)
            total = 0.0
            for i in torch.argsort(probs, descending=True).tolist():
                if total >= top_p:
                    row[i] = float("-inf")
                else:
                    total += probs[i].item()
    return out
""")
lesson.alternative("filter_logits", "kthvalue for top-k, an ascending cumulative sum for top-p", """
def filter_logits(logits, top_k=None, top_p=None):
    logits = logits.clone()
    if top_k is not None and top_k < logits.size(-1):
        kth = torch.kthvalue(logits, logits.size(-1) - top_k + 1, dim=-1, keepdim=True).values
        logits = torch.where(logits < kth, torch.full_like(logits, float("-inf")), logits)
    if top_p is not None:
        ascending, order = torch.sort(logits, dim=-1)
        tail = ascending.softmax(-1).cumsum(-1) <= 1 - top_p
        tail[..., -1] = False
        logits = logits.scatter(-1, order, ascending.masked_fill(tail, float("-inf")))
    return logits
""")
lesson.alternative("generate", "a while loop, the crop computed with max(0, ...)", """
@torch.no_grad()
def generate(model, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None):
    steps = 0
    while steps < max_new_tokens:
        start = max(0, idx.size(1) - model.config.block_size)
        logits = model(idx[:, start:])[0][:, -1, :]
        probs = torch.softmax(filter_logits(logits / temperature, top_k=top_k, top_p=top_p), dim=-1)
        idx = torch.cat([idx, torch.multinomial(probs, 1)], dim=-1)
        steps += 1
    return idx
""")
lesson.alternative("generate", "a preallocated output cropped with narrow; filters only when asked", """
@torch.no_grad()
def generate(model, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None):
    B, T = idx.shape
    out = torch.empty(B, T + max_new_tokens, dtype=idx.dtype)
    out[:, :T] = idx
    for t in range(T, T + max_new_tokens):
        length = min(t, model.config.block_size)
        logits, _ = model(out.narrow(1, t - length, length))
        logits = logits[:, -1] / temperature
        if top_k is not None or top_p is not None:
            logits = filter_logits(logits, top_k, top_p)
        out[:, t] = torch.multinomial(logits.softmax(-1), num_samples=1).squeeze(1)
    return out
""")
lesson.alternative("generate", "the filtering written inline instead of calling filter_logits", """
@torch.no_grad()
def generate(model, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None):
    for _ in range(max_new_tokens):
        logits = model(idx[:, -model.config.block_size:])[0][:, -1, :] / temperature
        if top_k is not None:
            kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, [-1]]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        if top_p is not None:
            ranked, order = logits.sort(dim=-1, descending=True)
            p = ranked.softmax(-1)
            drop = (p.cumsum(-1) - p) >= top_p
            logits = logits.masked_fill(drop.scatter(-1, order, drop), float("-inf"))
        idx = torch.cat((idx, torch.multinomial(logits.softmax(-1), 1)), dim=1)
    return idx
""")
