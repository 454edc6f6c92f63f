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
