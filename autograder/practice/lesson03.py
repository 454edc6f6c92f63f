"""Practice checks for lesson 03 (shipped to students: no answers in here)."""

from __future__ import annotations

from ..registry import Exercise, Lesson

_GPT_FORMULA = ("wte V×d, wpe T×d; per block: ln_1 and ln_2 (d, +d with bias), c_attn d×3d (+3d), c_proj d×d (+d), "
                "c_fc d×4d (+4d), c_proj 4d×d (+d); ln_f; the head adds V×d only when untied.")

lesson = Lesson('03', 'embeddings', 'Input embeddings')

# Exercises not yet given practice checks (name, points, default hint).
for _name, _points, _hint in [
    ('one_hot', 1, 'Compare ids[..., None] with torch.arange(vocab_size) and convert to float.'),
    ('embed_onehot', 1, 'one_hot(ids, W.shape[0]) @ W'),
    ('embed_lookup', 1, 'W[ids]: indexing with a tensor of ids selects rows.'),
    ('Embedding', 2, 'self.weight = nn.Parameter(torch.randn(num_embeddings, embedding_dim)); forward returns self.weight[ids].'),
    ('embedding_params', 1, 'One vector of d_model numbers per token: vocab_size * d_model.'),
    ('gpt_param_count', 2, 'Count each part: ' + _GPT_FORMULA),
    ('cosine_similarity', 1, 'Divide each row by its length, a / a.norm(dim=-1, keepdim=True), then multiply: a_n @ b_n.T.'),
    ('nearest_neighbours', 1, 'Cosine similarities of row idx with every row; set the entry of idx itself to -inf; topk(k).indices.'),
    ('pca_2d', 2, 'Xc = X - X.mean(dim=0); U, S, Vh = torch.linalg.svd(Xc, full_matrices=False); return Xc @ Vh[:2].T'),
]:
    lesson.exercises.append(Exercise(lesson, _name, _points, _hint))
