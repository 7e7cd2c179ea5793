"""A griffe extension for the API reference: show docstring examples as code.

keras_ext's docstrings put their doctest examples straight after
`Example:`, unindented, as the doctest runner in tests/test_docs.py reads
them. Markdown would render `>>>` lines as nested quotes, so each run of
`>>>` / `...` lines and the output below it (up to a blank line) is wrapped
in a ```pycon fence before the docstring is rendered. The docstrings in the
source stay as they are.
"""

import griffe


def fence_doctests(text):
    """`text` with every doctest block wrapped in a ```pycon fence."""
    out, in_block = [], False
    for line in text.splitlines():
        starts = line.lstrip().startswith(">>>")
        if starts and not in_block:
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}```pycon")
            in_block = True
        elif in_block and not line.strip():
            out.append(f"{indent}```")
            in_block = False
        out.append(line)
    if in_block:
        out.append(f"{indent}```")
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    def on_instance(self, *, obj, **kwargs):
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)
