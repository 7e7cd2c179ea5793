"""Input checks shared by the image models."""


def check_image_shape(model_name, input_shape, need_spatial=False):
    """Raise ValueError unless `input_shape` is channels-last rank 4 with known channels.

    With `need_spatial`, height and width must be known too (a model with a
    Flatten -> Dense head needs them; a global-pooling head does not).
    """
    shape = tuple(input_shape)
    known = shape[1:] if need_spatial else shape[3:]
    if len(shape) != 4 or any(d is None for d in known):
        what = "height, width and channels" if need_spatial else "channels"
        raise ValueError(
            f"{model_name} expects channels-last images of rank 4 "
            f"(batch, height, width, channels) with known {what}, "
            f"got input shape {shape}."
        )
    return shape
