"""Jupyter notebooks: linted cell by cell through the real command, on notebooks written with nbformat."""

from __future__ import annotations

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from command import reported, tflint_nan, write


def notebook(*cells, language: str = "python") -> nbformat.NotebookNode:
    document = new_notebook(cells=list(cells))
    document.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": language}
    document.metadata["language_info"] = {"name": language, "version": "3.11.7"}
    return document


def save(directory, name: str, document: nbformat.NotebookNode):
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(document, str(path))
    return path


IMPORTS = new_code_cell("import tensorflow as tf\nfrom keras import backend as K", execution_count=1)
ELU = new_code_cell("def elu(x):\n    return K.switch(x > 0, x, K.exp(x) - 1)", execution_count=2)


def test_findings_map_back_to_their_cell_and_names_resolve_across_cells(tmp_path):
    save(tmp_path, "nb.ipynb", notebook(
        new_markdown_cell("# A custom ELU"),
        IMPORTS,
        ELU,
        new_code_cell("y = tf.where(x > 0, tf.math.log(x), 0.)"),
    ))
    result = tflint_nan("nb.ipynb", cwd=tmp_path)
    assert result.returncode == 1
    assert reported(result.stdout) == [("nb.ipynb:cell 3:2:31", "TFN001"), ("nb.ipynb:cell 4:1:21", "TFN002")]
    assert result.stderr.strip() == "Found 2 problems in 1 file (1 file checked)."


def test_ipython_magics_are_skipped_and_foreign_cell_magics_not_linted(tmp_path):
    save(tmp_path, "magic.ipynb", notebook(
        new_code_cell("%matplotlib inline\n%load_ext autoreload\nimport tensorflow as tf"),
        new_code_cell("!pip install -q keras \\\n    tensorflow\nfiles = !ls\ntf.where?\n??tf.exp"),
        new_code_cell("%%bash\necho 'tf.where(x > 0, x, tf.exp(x))'"),
        new_code_cell("%%time\nfor step in range(2):\n    %time tf.constant(step)\n"
                      "    y = tf.where(x > 0, x, tf.exp(x))"),
        new_code_cell("message = ('%d steps'\n           % 3)\nz = tf.where(x != 0, 1 / x, 0.)"),
    ))
    result = tflint_nan("magic.ipynb", cwd=tmp_path)
    assert "Traceback" not in result.stderr
    assert reported(result.stdout) == [("magic.ipynb:cell 4:4:28", "TFN001"), ("magic.ipynb:cell 5:3:22", "TFN003")]


def test_a_cell_that_does_not_parse_is_reported_and_the_others_still_checked(tmp_path):
    save(tmp_path, "broken.ipynb", notebook(IMPORTS, new_code_cell("def broken(:\n    pass"), ELU))
    result = tflint_nan("broken.ipynb", cwd=tmp_path)
    assert reported(result.stdout) == [("broken.ipynb:cell 2:1:12", "TFN999"), ("broken.ipynb:cell 3:2:31", "TFN001")]


def test_noqa_in_a_cell_and_the_select_named_in_another_cell(tmp_path):
    save(tmp_path, "spread.ipynb", notebook(
        IMPORTS,
        new_code_cell("big = tf.exp(x)\nsmall = tf.exp(x)  # noqa: TFN001"),
        new_code_cell("out = tf.where(x > 0, x, big)\nalso = tf.where(x > 0, x, small)"),
    ))
    result = tflint_nan("spread.ipynb", cwd=tmp_path)
    assert reported(result.stdout) == [("spread.ipynb:cell 2:1:7", "TFN001")]
    assert "in the false branch of tf.where (cell 3, line 1) is evaluated" in result.stdout


def test_json_names_the_cell_and_full_shows_the_cell_source(tmp_path):
    save(tmp_path, "nb.ipynb", notebook(IMPORTS, ELU))
    (item,) = json.loads(tflint_nan("--output-format", "json", "nb.ipynb", cwd=tmp_path).stdout)
    assert (item["filename"], item["cell"], item["location"], item["code"]) == (
        "nb.ipynb", 2, {"row": 2, "column": 31}, "TFN001"
    )
    assert item["fix"]["edits"][0]["location"] == {"row": 2, "column": 37}
    full = tflint_nan("--output-format", "full", "nb.ipynb", cwd=tmp_path).stdout
    assert "2 |     return K.switch(x > 0, x, K.exp(x) - 1)\n  |                               ^^^^^^^^ TFN001" in full
    assert "--- nb.ipynb:cell 2\n+++ nb.ipynb:cell 2 (suggested)\n@@ -2 +2 @@\n" in full


def test_directories_are_searched_for_notebooks(tmp_path):
    save(tmp_path, "analysis/explore.ipynb", notebook(IMPORTS, ELU))
    save(tmp_path, "analysis/.ipynb_checkpoints/explore-checkpoint.ipynb", notebook(IMPORTS, ELU))
    result = tflint_nan("analysis", cwd=tmp_path)
    assert reported(result.stdout) == [("analysis/explore.ipynb:cell 2:2:31", "TFN001")]


def test_notebooks_of_other_languages_are_not_linted(tmp_path):
    save(tmp_path, "r.ipynb", notebook(new_code_cell("tf$where(x > 0, x, tf$exp(x))"), language="R"))
    result = tflint_nan("r.ipynb", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "")


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "TFN999 not a notebook: invalid JSON at line 1 column 2"),
        ('{"worksheets": [], "nbformat": 3}', "TFN999 nbformat 3 notebooks are not supported"),
        ("[1, 2]", "TFN999 not a notebook: the JSON document is not an object"),
    ],
)
def test_files_that_are_not_notebooks_are_reported(tmp_path, content, message):
    write(tmp_path, "bad.ipynb", content)
    result = tflint_nan("bad.ipynb", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith(f"bad.ipynb:1:1: {message}")


def test_outputs_and_string_sources_are_read(tmp_path):
    document = notebook(IMPORTS, ELU)
    document.cells[1].outputs = [new_output("stream", name="stdout", text="tf.where(x > 0, x, tf.exp(x))\n")]
    path = save(tmp_path, "nb.ipynb", document)
    raw = json.loads(path.read_text())
    raw["cells"][1]["source"] = "".join(raw["cells"][1]["source"])  # a single string, as some tools write it
    path.write_text(json.dumps(raw))
    assert reported(tflint_nan("nb.ipynb", cwd=tmp_path).stdout) == [("nb.ipynb:cell 2:2:31", "TFN001")]


def executed_notebook() -> nbformat.NotebookNode:
    """A notebook as Jupyter saves it after a run: execution counts, outputs, cell and notebook metadata."""
    document = notebook(
        new_markdown_cell("# A custom ELU\nIt trains to NaN."),
        new_code_cell("%matplotlib inline\nimport tensorflow as tf\nfrom keras import backend as K",
                      execution_count=1, metadata={"tags": ["imports"]}),
        # elu is used as a layer's activation, so a gradient reaches it (a finding in a function whose every use
        # discards the result, such as a bare `elu(tf.constant(...))`, has no gradient and gets no fix).
        new_code_cell("def elu(x):\n    return K.switch(x > 0, x, K.exp(x) - 1)\n\n"
                      "tf.keras.layers.Dense(2, activation=elu)",
                      execution_count=2,
                      outputs=[new_output("execute_result", data={"text/plain": "<Dense name=dense, built=False>"},
                                          execution_count=2)]),
        new_code_cell("!nvidia-smi\nloss = tf.where(x > 0, tf.math.log(x), 0.)  # café ☕\nloss?",
                      execution_count=3, outputs=[new_output("stream", name="stdout", text="No GPU\n")]),
        new_code_cell("%%bash\necho done"),
    )
    document.metadata["widgets"] = {"state": {}}
    return document


def test_fix_rewrites_only_the_fixed_cells_source_and_keeps_everything_else(tmp_path):
    path = save(tmp_path, "train.ipynb", executed_notebook())
    before_text = path.read_text(encoding="utf-8")
    before = json.loads(before_text)
    result = tflint_nan("--fix", "train.ipynb", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.strip() == "Fixed 2 problems in 1 file (1 file checked)."
    after_text = path.read_text(encoding="utf-8")
    after = json.loads(after_text)
    nbformat.validate(nbformat.reads(after_text, as_version=4))
    assert "".join(after["cells"][2]["source"]) == (
        "def elu(x):\n    return K.switch(x > 0, x, K.exp(K.minimum(x, 0.)) - 1)\n\n"
        "tf.keras.layers.Dense(2, activation=elu)"
    )
    assert "".join(after["cells"][3]["source"]) == (
        "!nvidia-smi\nloss = tf.where(x > 0, tf.math.log(tf.where(x > 0, x, 1.)), 0.)  # café ☕\nloss?"
    )
    for cell in (2, 3):  # only the source changed: outputs, counts and metadata are as they were
        before["cells"][cell]["source"] = after["cells"][cell]["source"]
    assert after == before
    # and the file's text changed only on the two rewritten source lines
    changed = [(old, new) for old, new in zip(before_text.splitlines(), after_text.splitlines()) if old != new]
    assert len(before_text.splitlines()) == len(after_text.splitlines())
    assert changed == [
        ('    "    return K.switch(x > 0, x, K.exp(x) - 1)\\n",',
         '    "    return K.switch(x > 0, x, K.exp(K.minimum(x, 0.)) - 1)\\n",'),
        ('    "loss = tf.where(x > 0, tf.math.log(x), 0.)  # café ☕\\n",',
         '    "loss = tf.where(x > 0, tf.math.log(tf.where(x > 0, x, 1.)), 0.)  # café ☕\\n",'),
    ]
    assert tflint_nan("train.ipynb", cwd=tmp_path).returncode == 0
    again = tflint_nan("--fix", "train.ipynb", cwd=tmp_path)
    assert again.returncode == 0 and path.read_text(encoding="utf-8") == after_text


def test_fix_keeps_another_writers_json_layout(tmp_path):
    # Key order, a two-space indent, escaped non-ASCII and no final newline, as other tools write notebooks.
    document = json.loads(nbformat.writes(executed_notebook()))
    document["cells"] = [dict(reversed(cell.items())) for cell in document["cells"]]  # "source" first
    document = dict(reversed(document.items()))  # "cells" last
    text = json.dumps(document, indent=2, ensure_ascii=True, sort_keys=False)
    assert text.index('"source"') < text.index('"outputs"') and text.index('"metadata"') < text.index('"cells"')
    path = write(tmp_path, "other.ipynb", text)
    result = tflint_nan("--fix", "other.ipynb", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    fixed = path.read_text(encoding="utf-8")
    expected = json.loads(text)
    expected["cells"][2]["source"][1] = "    return K.switch(x > 0, x, K.exp(K.minimum(x, 0.)) - 1)\n"
    expected["cells"][3]["source"][1] = "loss = tf.where(x > 0, tf.math.log(tf.where(x > 0, x, 1.)), 0.)  # café ☕\n"
    assert fixed == json.dumps(expected, indent=2, ensure_ascii=True, sort_keys=False)


def test_fix_reports_what_it_leaves_in_a_cell_that_does_not_parse(tmp_path):
    path = save(tmp_path, "broken.ipynb", notebook(IMPORTS, new_code_cell("def broken(:\n    pass"), ELU))
    result = tflint_nan("--fix", "--output-format", "full", "broken.ipynb", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines()[:4] == [
        "broken.ipynb:cell 2:1:12: TFN999 syntax error: invalid syntax",
        "  |",
        "1 | def broken(:",
        "  |            ^ TFN999",
    ]
    assert "K.exp(K.minimum(x, 0.))" in "".join(json.loads(path.read_text())["cells"][2]["source"])


def test_fix_on_stdin_with_a_notebook_name(tmp_path):
    path = save(tmp_path, "train.ipynb", executed_notebook())
    result = tflint_nan("--fix", "-", "--stdin-filename", "train.ipynb", cwd=tmp_path,
                        stdin=path.read_text(encoding="utf-8"))
    assert result.returncode == 0, result.stderr
    fixed = json.loads(result.stdout)
    assert "K.exp(K.minimum(x, 0.))" in "".join(fixed["cells"][2]["source"])
    assert fixed["cells"][2]["outputs"] == json.loads(path.read_text(encoding="utf-8"))["cells"][2]["outputs"]
