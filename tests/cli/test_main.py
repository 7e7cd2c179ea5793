"""What `keras-ext` prints goes where Keras sends its own messages."""

import logging

import keras
import pytest

from keras_ext.cli.main import main

pytestmark = pytest.mark.tensorflow_only


def test_messages_follow_keras_interactive_logging_setting(tmp_path, capsys, caplog):
    argv = ["train", "--model", "fashioncnn", "--epochs", "1", "--verbose", "0", "--output"]
    assert main([*argv, str(tmp_path / "shown")]) == 0
    assert "validation accuracy:" in capsys.readouterr().out

    # Keras's switch for programs that log instead of print (its callbacks obey it too).
    keras.config.disable_interactive_logging()
    try:
        with caplog.at_level(logging.INFO):
            assert main([*argv, str(tmp_path / "logged")]) == 0
    finally:
        keras.config.enable_interactive_logging()
    assert "validation accuracy:" not in capsys.readouterr().out
    assert any("validation accuracy:" in record.getMessage() for record in caplog.records)
