"""The steady rounds' order: each fit variant back to back with its Trainer counterpart, rotated per round."""

from keras_ext.benchmarking.runner import steady_order


def test_steady_order_keeps_pairs_back_to_back_and_rotates():
    names = ["fit", "fit_spe", "trainer_graph", "trainer_spe", "bare_loop"]
    orders = [steady_order(names, i) for i in range(4)]
    assert orders[0] == ["fit", "trainer_graph", "fit_spe", "trainer_spe"]
    assert orders[1] == ["trainer_graph", "fit", "trainer_spe", "fit_spe"]
    assert orders[2] == ["fit_spe", "trainer_spe", "fit", "trainer_graph"]
    assert orders[3] == ["trainer_spe", "fit_spe", "trainer_graph", "fit"]
    # A variant without its counterpart runs alone.
    assert steady_order(["fit", "fit_spe", "trainer_spe"], 0) == ["fit_spe", "trainer_spe", "fit"]
