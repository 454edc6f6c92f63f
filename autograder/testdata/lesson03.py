"""Lesson 03 test data: known-wrong answers (mutants) that the checks must catch, each with its
own message, and correct answers written differently (alternatives) that they must accept."""

from __future__ import annotations

from ..practice.lesson03 import lesson

lesson.mutant("one_hot", "one-hot on the wrong axis", "wrong axis",
              "def one_hot(ids, vocab_size):\n    return torch.eye(vocab_size)[:, ids]")
lesson.mutant("one_hot", "size from the ids instead of vocab_size", "num_classes",
              "def one_hot(ids, vocab_size):\n    return F.one_hot(ids).float()")
lesson.mutant("one_hot", "integer dtype", "F.one_hot returns int64",
              "def one_hot(ids, vocab_size):\n    return F.one_hot(ids, vocab_size)")
lesson.mutant("embed_onehot", "transposed weight", "transposed",
              "def embed_onehot(ids, W):\n    return one_hot(ids, W.shape[1]) @ W.T")
lesson.mutant("embed_onehot", "transposed result", "result is transposed",
              "def embed_onehot(ids, W):\n    return W.T @ one_hot(ids, W.shape[0]).T")
lesson.mutant("embed_lookup", "transposed weight", "transposed",
              "def embed_lookup(ids, W):\n    return W.T[ids]")
lesson.mutant("embed_lookup", "flattens the batch", "batch shape was lost",
              "def embed_lookup(ids, W):\n    return W[ids.flatten()]")
lesson.mutant("embed_lookup", "detaches the table", "no gradient can reach",
              "def embed_lookup(ids, W):\n    return W.detach()[ids]")
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
lesson.mutant("cosine_similarity", "cosine without normalization", "not normalized",
              "def cosine_similarity(a, b):\n    return a @ b.T")
lesson.mutant("cosine_similarity", "normalizes columns", "wrong dimension",
              "def cosine_similarity(a, b):\n    return (a / a.norm(dim=0)) @ (b / b.norm(dim=0)).T")
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
lesson.mutant("pca_2d", "unscaled U", "singular values", """
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
