"""Practice checks for lesson 10 (shipped to students: no answers in here)."""

from __future__ import annotations

from ..registry import Exercise, Lesson

lesson = Lesson('10', 'mamba', 'Beyond attention: selective state spaces (Mamba)')

# Exercises not yet given practice checks (name, points, default hint).
for _name, _points, _hint in [
    ('discretize_zoh', 2, 'Ā = torch.linalg.matrix_exp(Δ A); B̄ = (ΔA)⁻¹ (Ā - I) Δ B, computed with torch.linalg.solve(Δ * A, (Ā - I) @ (Δ * B)).'),
    ('ssm_recurrent', 1, 'x starts at zero; for each u_k: x = A_bar @ x + B_bar * u_k, then y_k = C @ x.'),
    ('selective_scan_sequential', 2, 'Ā = exp(delta[..., None] * A) has shape (b, L, ED, N); B̄u = (delta * u)[..., None] * B[:, :, None]; loop over t: h = Ā[:, t] * h + B̄u[:, t], y_t = (h * C[:, t, None]).sum(-1); finally add D * u.'),
    ('selective_scan_parallel', 3, 'Keep pairs (a, b) = (Ā, B̄u) along time. For k = 1, 2, 4, ... < L, combine every element t >= k with element t - k: b_t = a_t * b_(t-k) + b_t, a_t = a_t * a_(t-k). After the last round, b_t is h_t.'),
    ('causal_conv1d', 1, 'Pad K - 1 zeros on the left of the time axis only, then F.conv1d(x, weight.unsqueeze(1), bias, groups=channels) on (b, channels, L).'),
    ('MambaBlock', 3, 'in_proj -> (x, z); x = silu(causal_conv1d(x, conv1d.weight[:, 0], conv1d.bias)); x_proj(x) -> (Δ low-rank, B, C); Δ = softplus(dt_proj(Δ)); A = -exp(A_log); y = selective_scan_parallel(x, Δ, A, B, C, D); out_proj(y * silu(z)). If this fails but the scan and conv checks pass, look at the order of these steps.'),
]:
    lesson.exercises.append(Exercise(lesson, _name, _points, _hint))
