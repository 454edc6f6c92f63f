"""Lesson 03 test data: known-wrong answers (mutants) that the checks must catch, each with its
own message, and correct answers written differently (alternatives) that they must accept."""

from __future__ import annotations

from ..practice.lesson03 import lesson

# ---------------------------------------------------------------- mutants (known-buggy variants)

lesson.mutant("one_hot", "one-hot on the wrong axis", "wrong axis",
              "def one_hot(ids, vocab_size):\n    return torch.eye(vocab_size)[:, ids]")
lesson.mutant("one_hot", "size from the ids instead of vocab_size", "num_classes",
              "def one_hot(ids, vocab_size):\n    return F.one_hot(ids).float()")
lesson.mutant("one_hot", "integer dtype", "F.one_hot returns int64",
              "def one_hot(ids, vocab_size):\n    return F.one_hot(ids, vocab_size)")
lesson.mutant("embed_onehot", "transposed weight", "transposed",
              "def embed_onehot(ids, W):\n    return one_hot(ids, W.shape[1]) @ W.T")
lesson.mutant("embed_onehot", "transposed result", "it is transposed",
              "def embed_onehot(ids, W):\n    return (one_hot(ids, W.shape[0]) @ W).mT")
lesson.mutant("embed_onehot", "detached table", "no gradient can reach",
              "def embed_onehot(ids, W):\n    return one_hot(ids, W.shape[0]) @ W.detach()")
lesson.mutant("embed_lookup", "transposed weight", "transposed",
              "def embed_lookup(ids, W):\n    return W.T[ids]")
lesson.mutant("embed_lookup", "flattens the batch", "batch shape was lost",
              "def embed_lookup(ids, W):\n    return W[ids.flatten()]")
lesson.mutant("embed_lookup", "detaches the table", "no gradient can reach",
              "def embed_lookup(ids, W):\n    return W.detach()[ids]")
lesson.mutant("embed_lookup", "one-hot product instead of a lookup (the text asks for the lookup)",
              "without one-hots", "def embed_lookup(ids, W):\n    return one_hot(ids, W.shape[0]) @ W")
lesson.mutant("embed_lookup", "one-hot product written with einsum", "without one-hots",
              "def embed_lookup(ids, W):\n    return torch.einsum('...v,vd->...d', F.one_hot(ids, W.shape[0]).float(), W)")
lesson.mutant("Embedding", "transposed weight", "transposed", """
class Embedding(nn.Module):
    def __init__(self, num_embeddings, embedding_dim):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(embedding_dim, num_embeddings))
    def forward(self, ids):
        return self.weight.T[ids]
""")
lesson.mutant("Embedding", "uniform initialisation", "N(0, 1)", """
class Embedding(nn.Module):
    def __init__(self, num_embeddings, embedding_dim):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(num_embeddings, embedding_dim))
    def forward(self, ids):
        return self.weight[ids]
""")
lesson.mutant("Embedding", "initialised with std 0.02 (GPT-2's re-initialisation, not nn.Embedding's)", "std 1", """
class Embedding(nn.Module):
    def __init__(self, num_embeddings, embedding_dim):
        super().__init__()
        self.weight = nn.Parameter(0.02 * torch.randn(num_embeddings, embedding_dim))
    def forward(self, ids):
        return self.weight[ids]
""")
lesson.mutant("Embedding", "plain tensor instead of nn.Parameter", "nn.Parameter", """
class Embedding(nn.Module):
    def __init__(self, num_embeddings, embedding_dim):
        super().__init__()
        self.weight = torch.randn(num_embeddings, embedding_dim, requires_grad=True)
    def forward(self, ids):
        return self.weight[ids]
""")
lesson.mutant("Embedding", "forward uses .data", "no gradient reached", """
class Embedding(nn.Module):
    def __init__(self, num_embeddings, embedding_dim):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(num_embeddings, embedding_dim))
    def forward(self, ids):
        return self.weight.data[ids]
""")
lesson.mutant("embedding_params", "adds a bias", "no bias",
              "def embedding_params(vocab_size, d_model):\n    return vocab_size * d_model + d_model")
lesson.mutant("embedding_params", "a float from true division", "should be an int",
              "def embedding_params(vocab_size, d_model):\n    return vocab_size * d_model / 1")
lesson.mutant("gpt_param_count", "forgets the position embedding", "position embedding", """
_solution_gpt_param_count = gpt_param_count
def gpt_param_count(vocab_size, block_size, n_layer, n_embd, bias=True, tied=True):
    return _solution_gpt_param_count(vocab_size, block_size, n_layer, n_embd, bias, tied) - block_size * n_embd
""")
lesson.mutant("gpt_param_count", "counts the tied head twice", "tied", """
def gpt_param_count(vocab_size, block_size, n_layer, n_embd, bias=True, tied=True):
    d, b = n_embd, int(bias)
    ln = d + b * d
    block = 2 * ln + 12 * d * d + 9 * b * d
    return 2 * vocab_size * d + block_size * d + n_layer * block + ln
""")
lesson.mutant("gpt_param_count", "MLP without the 4x expansion", "4 × n_embd", """
def gpt_param_count(vocab_size, block_size, n_layer, n_embd, bias=True, tied=True):
    d, b = n_embd, int(bias)
    ln = d + b * d
    block = 2 * ln + (3 * d * d + 3 * b * d) + (d * d + b * d) + 2 * (d * d + b * d)
    return vocab_size * d * (1 if tied else 2) + block_size * d + n_layer * block + ln
""")
lesson.mutant("gpt_param_count", "forgets the final LayerNorm", "ln_f", """
_solution_gpt_param_count = gpt_param_count
def gpt_param_count(vocab_size, block_size, n_layer, n_embd, bias=True, tied=True):
    return _solution_gpt_param_count(vocab_size, block_size, n_layer, n_embd, bias, tied) - n_embd * (1 + int(bias))
""")
lesson.mutant("gpt_param_count", "bias=False still counts every bias", "still counted the biases", """
_solution_gpt_param_count = gpt_param_count
def gpt_param_count(vocab_size, block_size, n_layer, n_embd, bias=True, tied=True):
    return _solution_gpt_param_count(vocab_size, block_size, n_layer, n_embd, True, tied)
""")
lesson.mutant("gpt_param_count", "untied head never counted", "untied LM head is missing", """
_solution_gpt_param_count = gpt_param_count
def gpt_param_count(vocab_size, block_size, n_layer, n_embd, bias=True, tied=True):
    return _solution_gpt_param_count(vocab_size, block_size, n_layer, n_embd, bias, True)
""")
lesson.mutant("cosine_similarity", "cosine without normalization", "not normalized",
              "def cosine_similarity(a, b):\n    return a @ b.T")
lesson.mutant("cosine_similarity", "normalizes columns", "wrong dimension",
              "def cosine_similarity(a, b):\n    return (a / a.norm(dim=0)) @ (b / b.norm(dim=0)).T")
lesson.mutant("cosine_similarity", "normalizes a only", "only a was normalized",
              "def cosine_similarity(a, b):\n    return (a / a.norm(dim=-1, keepdim=True)) @ b.T")
lesson.mutant("cosine_similarity", "b against a (transposed)", "transpose of the expected",
              "def cosine_similarity(a, b):\n    return F.normalize(b, dim=-1) @ F.normalize(a, dim=-1).T")
lesson.mutant("cosine_similarity", "normalizes in place", "changed its input in place", """
def cosine_similarity(a, b):
    a /= a.norm(dim=-1, keepdim=True)
    b /= b.norm(dim=-1, keepdim=True)
    return a @ b.T
""")
lesson.mutant("nearest_neighbours", "includes the token itself", "itself", """
def nearest_neighbours(W, idx, k):
    return cosine_similarity(W[idx:idx + 1], W)[0].topk(k).indices
""")
lesson.mutant("nearest_neighbours", "ranks by dot product", "dot product", """
def nearest_neighbours(W, idx, k):
    sims = W @ W[idx]
    sims[idx] = float("-inf")
    return sims.topk(k).indices
""")
lesson.mutant("nearest_neighbours", "least similar first", "LEAST similar", """
def nearest_neighbours(W, idx, k):
    sims = cosine_similarity(W[idx:idx + 1], W)[0]
    sims[idx] = float("inf")
    return sims.topk(k, largest=False).indices
""")
lesson.mutant("nearest_neighbours", "drops the first of the top k + 1 (assumes idx always comes first)", "copy of row", """
def nearest_neighbours(W, idx, k):
    return cosine_similarity(W[idx:idx + 1], W)[0].topk(k + 1).indices[1:]
""")
lesson.mutant("nearest_neighbours", "drops the first of a descending argsort", "copy of row", """
def nearest_neighbours(W, idx, k):
    return torch.argsort(cosine_similarity(W[idx:idx + 1], W)[0], descending=True)[1:k + 1]
""")
lesson.mutant("nearest_neighbours", "leaves out every row with cosine 1 (copies too)", "exact copy of row", """
def nearest_neighbours(W, idx, k):
    sims = cosine_similarity(W[idx:idx + 1], W)[0]
    sims[sims > 1 - 1e-6] = float("-inf")
    return sims.topk(k).indices
""")
lesson.mutant("pca_2d", "forgets to centre", "not centred", """
def pca_2d(X):
    U, S, Vh = torch.linalg.svd(X, full_matrices=False)
    return X @ Vh[:2].T
""")
lesson.mutant("pca_2d", "smallest-variance directions", "SMALLEST variance", """
def pca_2d(X):
    Xc = X - X.mean(dim=0)
    U, S, Vh = torch.linalg.svd(Xc, full_matrices=False)
    return Xc @ Vh[-2:].T
""")
lesson.mutant("pca_2d", "unscaled U", "singular value", """
def pca_2d(X):
    Xc = X - X.mean(dim=0)
    U, S, Vh = torch.linalg.svd(Xc, full_matrices=False)
    return U[:, :2]
""")
lesson.mutant("pca_2d", "returns the directions", "principal directions", """
def pca_2d(X):
    Xc = X - X.mean(dim=0)
    U, S, Vh = torch.linalg.svd(Xc, full_matrices=False)
    return Vh[:2].T
""")
lesson.mutant("pca_2d", "centres in place", "in place", """
def pca_2d(X):
    X -= X.mean(dim=0)
    U, S, Vh = torch.linalg.svd(X, full_matrices=False)
    return X @ Vh[:2].T
""")
lesson.mutant("pca_2d", "columns swapped", "swapped", """
def pca_2d(X):
    Xc = X - X.mean(dim=0)
    U, S, Vh = torch.linalg.svd(Xc, full_matrices=False)
    return Xc @ Vh[[1, 0]].T
""")
lesson.mutant("pca_2d", "randomized torch.pca_lowrank with q=2 (the text asks for the exact SVD)", "approximate", """
def pca_2d(X):
    U, S, V = torch.pca_lowrank(X, q=2)
    return (X - X.mean(dim=0)) @ V
""")


# ---------------------------------------------------------------- alternatives (correct, written differently)

lesson.alternative("one_hot", "F.one_hot with num_classes, as float", """
def one_hot(ids, vocab_size):
    return F.one_hot(ids, vocab_size).float()
""")
lesson.alternative("one_hot", "rows of the identity matrix", """
def one_hot(ids, vocab_size):
    return torch.eye(vocab_size)[ids]
""")
lesson.alternative("one_hot", "zeros and scatter_", """
def one_hot(ids, vocab_size):
    out = torch.zeros(*ids.shape, vocab_size)
    return out.scatter_(-1, ids.unsqueeze(-1), 1.0)
""")
lesson.alternative("embed_onehot", "F.one_hot cast to W's dtype", """
def embed_onehot(ids, W):
    return F.one_hot(ids, W.shape[0]).to(W.dtype) @ W
""")
lesson.alternative("embed_onehot", "einsum", """
def embed_onehot(ids, W):
    return torch.einsum('...v,vd->...d', one_hot(ids, W.shape[0]), W)
""")
lesson.alternative("embed_onehot", "flatten, torch.mm, reshape back", """
def embed_onehot(ids, W):
    flat = one_hot(ids.reshape(-1), W.shape[0])
    return torch.mm(flat, W).reshape(*ids.shape, W.shape[1])
""")
lesson.alternative("embed_lookup", "F.embedding", """
def embed_lookup(ids, W):
    return F.embedding(ids, W)
""")
lesson.alternative("embed_lookup", "index_select and reshape", """
def embed_lookup(ids, W):
    return W.index_select(0, ids.reshape(-1)).reshape(*ids.shape, W.shape[1])
""")
lesson.alternative("embed_lookup", "a loop over the ids, stacked", """
def embed_lookup(ids, W):
    rows = [W[int(i)] for i in ids.reshape(-1)]
    return torch.stack(rows).reshape(*ids.shape, W.shape[1]) if rows else W[:0].reshape(*ids.shape, W.shape[1])
""")
lesson.alternative("Embedding", "nn.init.normal_ on an empty parameter, F.embedding", """
class Embedding(nn.Module):
    def __init__(self, num_embeddings, embedding_dim):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num_embeddings, embedding_dim))
        nn.init.normal_(self.weight)
    def forward(self, ids):
        return F.embedding(ids, self.weight)
""")
lesson.alternative("Embedding", "one-hot product in forward", """
class Embedding(nn.Module):
    def __init__(self, num_embeddings, embedding_dim):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(num_embeddings, embedding_dim))
    def forward(self, ids):
        return one_hot(ids, self.weight.shape[0]) @ self.weight
""")
lesson.alternative("Embedding", "register_parameter and index_select", """
class Embedding(nn.Module):
    def __init__(self, num_embeddings, embedding_dim):
        super().__init__()
        self.register_parameter("weight", nn.Parameter(torch.normal(0.0, 1.0, (num_embeddings, embedding_dim))))
    def forward(self, ids):
        flat = self.weight.index_select(0, ids.reshape(-1))
        return flat.reshape(*ids.shape, self.weight.shape[1])
""")
lesson.alternative("embedding_params", "the size of nn.Embedding's weight", """
def embedding_params(vocab_size, d_model):
    return nn.Embedding(vocab_size, d_model).weight.numel()
""")
lesson.alternative("embedding_params", "math.prod of the table's shape", """
import math
def embedding_params(vocab_size, d_model):
    return math.prod((vocab_size, d_model))
""")
lesson.alternative("gpt_param_count", "one closed formula", """
def gpt_param_count(vocab_size, block_size, n_layer, n_embd, bias=True, tied=True):
    d = n_embd
    per_block = 12 * d * d + (13 * d if bias else 2 * d)
    return (vocab_size + block_size) * d + n_layer * per_block + (2 * d if bias else d) + (0 if tied else vocab_size * d)
""")
lesson.alternative("gpt_param_count", "a list of every parameter's shape", """
import math
def gpt_param_count(vocab_size, block_size, n_layer, n_embd, bias=True, tied=True):
    d = n_embd
    def linear(n_in, n_out):
        return [(n_out, n_in)] + ([(n_out,)] if bias else [])
    def layer_norm():
        return [(d,)] + ([(d,)] if bias else [])
    shapes = [(vocab_size, d), (block_size, d)]
    for _ in range(n_layer):
        shapes += layer_norm() + linear(d, 3 * d) + linear(d, d) + layer_norm() + linear(d, 4 * d) + linear(4 * d, d)
    shapes += layer_norm()
    if not tied:
        shapes.append((vocab_size, d))
    return sum(math.prod(shape) for shape in shapes)
""")
lesson.alternative("gpt_param_count", "torch.nn blocks on the meta device, embeddings counted by hand", """
def gpt_param_count(vocab_size, block_size, n_layer, n_embd, bias=True, tied=True):
    d = n_embd
    with torch.device("meta"):
        block = nn.ModuleList([nn.LayerNorm(d, bias=bias), nn.Linear(d, 3 * d, bias=bias), nn.Linear(d, d, bias=bias),
                               nn.LayerNorm(d, bias=bias), nn.Linear(d, 4 * d, bias=bias), nn.Linear(4 * d, d, bias=bias)])
        ln_f = nn.LayerNorm(d, bias=bias)
    count = lambda module: sum(p.numel() for p in module.parameters())
    return (vocab_size + block_size) * d + n_layer * count(block) + count(ln_f) + (0 if tied else vocab_size * d)
""")
lesson.alternative("cosine_similarity", "F.normalize", """
def cosine_similarity(a, b):
    return F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T
""")
lesson.alternative("cosine_similarity", "F.cosine_similarity with broadcasting", """
def cosine_similarity(a, b):
    return F.cosine_similarity(a[:, None], b[None], dim=-1)
""")
lesson.alternative("cosine_similarity", "dot products divided by the outer product of the norms", """
def cosine_similarity(a, b):
    return torch.einsum("id,jd->ij", a, b) / torch.outer(a.norm(dim=1), b.norm(dim=1))
""")
lesson.alternative("nearest_neighbours", "argsort, then skip idx in a Python list", """
def nearest_neighbours(W, idx, k):
    order = torch.argsort(cosine_similarity(W[idx][None], W)[0], descending=True).tolist()
    return [i for i in order if i != idx][:k]
""")
lesson.alternative("nearest_neighbours", "masked_fill by index, then topk", """
def nearest_neighbours(W, idx, k):
    sims = F.cosine_similarity(W, W[idx][None], dim=-1)
    sims = sims.masked_fill(torch.arange(len(W)) == idx, float("-inf"))
    return torch.topk(sims, k).indices
""")
lesson.alternative("nearest_neighbours", "sorted() over (cosine, index) pairs without idx", """
def nearest_neighbours(W, idx, k):
    sims = cosine_similarity(W, W[idx:idx + 1])[:, 0].tolist()
    ranked = sorted((j for j in range(len(sims)) if j != idx), key=lambda j: -sims[j])
    return torch.tensor(ranked[:k])
""")
lesson.alternative("pca_2d", "eigenvectors of Xcᵀ Xc (torch.linalg.eigh)", """
def pca_2d(X):
    Xc = X - X.mean(0)
    eigenvalues, vectors = torch.linalg.eigh(Xc.T @ Xc)  # ascending order
    return Xc @ vectors[:, [-1, -2]]
""")
lesson.alternative("pca_2d", "U times S, with flipped signs", """
def pca_2d(X):
    Xc = X - X.mean(0)
    U, S, Vh = torch.linalg.svd(Xc, full_matrices=False)
    return -U[:, :2] * S[:2]
""")
lesson.alternative("pca_2d", "exact SVD in float64, returned as float64", """
def pca_2d(X):
    Xc = X.double() - X.double().mean(0)
    _, _, Vh = torch.linalg.svd(Xc, full_matrices=False)
    return Xc @ Vh[:2].T
""")
lesson.alternative("pca_2d", "torch.pca_lowrank with q = min(n, d), which makes it exact", """
def pca_2d(X):
    U, S, V = torch.pca_lowrank(X, q=min(X.shape))
    return (X - X.mean(0)) @ V[:, :2]
""")
