"""Static checks of targets against predictions, run once when a step is traced."""


def check_targets(x, y, y_pred):
    """Raise ValueError when `y` cannot be a target for `y_pred` (batch or trailing axes differ)."""
    if y is None:
        return
    x_shape = tuple(x.shape)
    y_shape, p_shape = tuple(y.shape), tuple(y_pred.shape)
    batch = {d for d in (x_shape[:1] + y_shape[:1]) if d is not None}
    if len(batch) > 1:
        raise ValueError(
            f"Inputs and targets differ in batch size: x has shape {x_shape}, y has shape {y_shape}."
        )
    # Accepted: y shaped like y_pred (one-hot, regression), or integer labels
    # shaped like y_pred without its class axis (optionally with a trailing 1).
    candidates = (p_shape, p_shape[:-1], p_shape[:-1] + (1,))
    if not any(_compatible(y_shape, c) for c in candidates):
        raise ValueError(
            f"Targets of shape {y_shape} do not fit predictions of shape {p_shape}: expected "
            f"{p_shape} (one-hot or per-output targets) or {p_shape[:-1]} (integer labels)."
        )


def _compatible(a, b):
    return len(a) == len(b) and all(i is None or j is None or i == j for i, j in zip(a, b, strict=True))
