"""Output formats, --statistics and stdin, through the real command."""

from __future__ import annotations

import json

import pydantic
import pytest
import sarif_pydantic

from command import BUGGY, FIXED, reported, tflint_nan, write
from tflint_nan.rules import RULES

CONCISE_TFN001 = "model.py:5:31: TFN001 tf.exp(x) in the false branch of tf.where"


@pytest.fixture
def buggy(tmp_path):
    write(tmp_path, "model.py", BUGGY)
    return tmp_path


def test_full_shows_the_source_line_a_caret_the_help_and_the_rewrite_as_a_diff(buggy):
    result = tflint_nan("--output-format", "full", "model.py", cwd=buggy)
    assert result.returncode == 1
    first = result.stdout.split("\n\n")[:2]
    header, *body = first[0].splitlines()
    assert header.startswith(CONCISE_TFN001)
    assert body == [
        "  |",
        "5 |     return tf.where(x > 0, x, tf.exp(x) - 1.)",
        "  |                               ^^^^^^^^^ TFN001",
        "  |",
        "  = help: Clamp the input: tf.exp(tf.minimum(x, 0.))",
        "  = docs: https://github.com/tflint-nan/tflint-nan/blob/main/docs/rules.md#tfn001-exp-overflow-in-select"
        " (or: tflint-nan rule TFN001)",
    ]
    assert first[1].splitlines() == [
        "--- model.py",
        "+++ model.py (suggested)",
        "@@ -5 +5 @@",
        "-    return tf.where(x > 0, x, tf.exp(x) - 1.)",
        "+    return tf.where(x > 0, x, tf.exp(tf.minimum(x, 0.)) - 1.)",
    ]
    assert "@@ -9 +9 @@\n-    return tf.where(x > 0, tf.math.log(x), 0.)\n" in result.stdout


def test_full_aligns_the_caret_under_tab_indented_code_and_shows_syntax_errors(tmp_path):
    write(tmp_path, "tabs.py", "import tensorflow as tf\n\n\ndef f(x):\n\treturn tf.where(x > 0, x, tf.exp(x))\n")
    write(tmp_path, "broken.py", "def f(:\n    pass\n")
    result = tflint_nan("--output-format", "full", "broken.py", "tabs.py", cwd=tmp_path)
    lines = result.stdout.splitlines()
    assert lines[0] == "broken.py:1:7: TFN999 syntax error: invalid syntax"
    assert lines[2:4] == ["1 | def f(:", "  |       ^ TFN999"]
    source_at = lines.index("5 |         return tf.where(x > 0, x, tf.exp(x))")
    caret = lines[source_at + 1]
    shown = lines[source_at]
    assert shown[caret.index("^"):].startswith("tf.exp(x)")
    assert caret.count("^") == len("tf.exp(x)")


def test_json_and_json_lines_carry_the_same_objects(buggy):
    listed = json.loads(tflint_nan("--output-format", "json", "model.py", cwd=buggy).stdout)
    lines = tflint_nan("--output-format", "json-lines", "model.py", cwd=buggy).stdout.splitlines()
    assert [json.loads(line) for line in lines] == listed
    first = listed[0]
    assert set(first) == {"code", "message", "filename", "cell", "location", "end_location", "fix", "url",
                          "confidence", "level", "no_gradient", "sink", "discarded", "xla_only",
                          "not_under_xla", "value_shows", "float_type"}
    assert (first["confidence"], first["level"], first["no_gradient"]) == ("high", "default", None)
    assert first["float_type"] == "float32"
    assert first["sink"]["name"] == "tf.where" and first["sink"]["location"]["row"] == 5
    assert (first["code"], first["filename"], first["cell"]) == ("TFN001", "model.py", None)
    assert first["location"] == {"row": 5, "column": 31}
    assert first["end_location"] == {"row": 5, "column": 40}
    assert first["fix"]["applicability"] == "safe"
    assert first["fix"]["edits"] == [
        {"content": "tf.minimum(x, 0.)", "location": {"row": 5, "column": 38}, "end_location": {"row": 5, "column": 39}}
    ]


def test_json_of_no_findings_is_an_empty_list(tmp_path):
    write(tmp_path, "clean.py", "x = 1\n")
    result = tflint_nan("--output-format", "json", "clean.py", cwd=tmp_path)
    assert (result.returncode, json.loads(result.stdout)) == (0, [])
    assert tflint_nan("--output-format", "json-lines", "clean.py", cwd=tmp_path).stdout == ""


# Properties of the SARIF 2.1.0 schema that sarif-pydantic's model does not declare (so they would look unknown):
# run.columnKind (SARIF 2.1.0 section 3.14.17).
SARIF_PROPERTIES_MISSING_FROM_THE_MODEL = {("Run", "columnKind")}


def unknown_sarif_properties(model: pydantic.BaseModel, path: str = "$") -> list[str]:
    """Every key of the document that no SARIF object declares; property bags (``properties``) hold anything."""
    unknown = [
        f"{path}.{key}" for key in (model.model_extra or {})
        if (type(model).__name__, key) not in SARIF_PROPERTIES_MISSING_FROM_THE_MODEL
    ]
    for name in type(model).model_fields:
        if name == "properties":
            continue
        value = getattr(model, name)
        children = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else [value]
        for index, child in enumerate(children):
            if isinstance(child, pydantic.BaseModel):
                unknown += unknown_sarif_properties(child, f"{path}.{name}[{index}]")
    return unknown


def test_sarif_is_a_valid_sarif_2_1_0_log_for_github_code_scanning(buggy):
    write(buggy, "sub dir/broken.py", "import tensorflow as tf\ntf.where(c, tf.exp(x),\n")
    result = tflint_nan("--output-format", "sarif", ".", cwd=buggy)
    assert result.returncode == 1
    document = json.loads(result.stdout)
    log = sarif_pydantic.Sarif.model_validate(document)
    assert unknown_sarif_properties(log) == []
    assert (log.version, document["$schema"]) == ("2.1.0", "https://json.schemastore.org/sarif-2.1.0.json")
    (run,) = log.runs
    driver = run.tool.driver
    assert driver.name == "tflint-nan"
    assert [rule.id for rule in driver.rules] == [rule.code for rule in RULES] + ["TFN999"]
    for descriptor in driver.rules:
        assert descriptor.short_description.text and descriptor.full_description.text
        assert descriptor.help.text and descriptor.help.markdown
        assert descriptor.help_uri.startswith("https://")
    assert "```python" in driver.rules[0].help.markdown  # the bad and good examples
    by_rule = {result.rule_id: result for result in run.results}
    assert sorted(by_rule) == ["TFN001", "TFN002", "TFN999"]
    for found in run.results:
        assert driver.rules[found.rule_index].id == found.rule_id
        assert found.level == sarif_pydantic.Level.ERROR
    exp = by_rule["TFN001"]
    location = exp.locations[0].physical_location
    assert (location.artifact_location.uri, location.artifact_location.uri_base_id) == ("model.py", "%SRCROOT%")
    region = location.region
    assert (region.start_line, region.start_column, region.end_line, region.end_column) == (5, 31, 5, 40)
    raw = next(item for item in document["runs"][0]["results"] if item["ruleId"] == "TFN001")
    assert raw["rank"] == 90.0 and raw["properties"]["confidence"] == "high"
    (sink,) = raw["relatedLocations"]
    assert sink["physicalLocation"]["region"]["startLine"] == 5 and "tf.where" in sink["message"]["text"]
    assert exp.message.text.startswith("tf.exp(x) in the false branch of tf.where")
    replacement = exp.fixes[0].artifact_changes[0].replacements[0]
    assert replacement.inserted_content.text == "tf.minimum(x, 0.)"
    assert (replacement.deleted_region.start_column, replacement.deleted_region.end_column) == (38, 39)
    broken = by_rule["TFN999"].locations[0].physical_location.artifact_location
    assert broken.uri == "sub%20dir/broken.py"
    assert run.original_uri_base_ids["%SRCROOT%"].uri == buggy.resolve().as_uri() + "/"


def test_sarif_marks_strict_only_findings_as_warnings_of_low_rank(tmp_path):
    write(tmp_path, "m.py", "import tensorflow as tf\n\n\ndef f(x, b):\n    return tf.where(x > 0, x, x / b)\n")
    document = json.loads(tflint_nan("--output-format", "sarif", "--strict", "m.py", cwd=tmp_path).stdout)
    (result,) = document["runs"][0]["results"]
    assert (result["level"], result["rank"], result["properties"]["confidence"]) == ("warning", 20.0, "low")


def test_sarif_with_no_findings_is_still_a_complete_log(tmp_path):
    write(tmp_path, "clean.py", "x = 1\n")
    log = sarif_pydantic.Sarif.model_validate(json.loads(tflint_nan("--output-format", "sarif", "clean.py",
                                                                    cwd=tmp_path).stdout))
    assert log.runs[0].results == [] and len(log.runs[0].tool.driver.rules) == len(RULES) + 1


def test_github_workflow_commands_escape_their_data(tmp_path):
    write(tmp_path, "a,b:100%.py", BUGGY)
    result = tflint_nan("--output-format", "github", "a,b:100%.py", cwd=tmp_path)
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(
        "::error title=tflint-nan (TFN001),file=a%2Cb%3A100%25.py,line=5,col=31,endLine=5,endColumn=40"
        "::a,b:100%25.py:5:31: TFN001 tf.exp(x) in the false branch of tf.where"
    )
    assert lines[1].startswith("::error title=tflint-nan (TFN002),file=a%2Cb%3A100%25.py,line=9,col=28,")


def test_statistics_count_findings_per_code(tmp_path):
    write(tmp_path, "a.py", BUGGY)
    another_exp = "def other(x):\n    return tf.where(x > 0, x, tf.exp(x))\n\n\ndef safe_log"
    write(tmp_path, "b.py", BUGGY.replace("def safe_log", another_exp))
    result = tflint_nan("--statistics", "a.py", "b.py", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "3  TFN001  [*] exp-overflow-in-select",
        "2  TFN002  [*] log-pole-in-select",
    ]
    as_json = json.loads(tflint_nan("--statistics", "--output-format", "json", "a.py", "b.py", cwd=tmp_path).stdout)
    assert as_json == [
        {"code": "TFN001", "name": "exp-overflow-in-select", "count": 3, "fixable": True},
        {"code": "TFN002", "name": "log-pole-in-select", "count": 2, "fixable": True},
    ]
    assert tflint_nan("--statistics", "--exit-zero", "a.py", cwd=tmp_path).returncode == 0


def test_stdin_is_reported_under_the_stdin_filename(tmp_path):
    named = tflint_nan("-", "--stdin-filename", "pkg/model.py", cwd=tmp_path, stdin=BUGGY)
    assert [where for where, _ in reported(named.stdout)] == ["pkg/model.py:5:31", "pkg/model.py:9:28"]
    assert named.stderr.strip() == "Found 2 problems in 1 file (1 file checked)."
    unnamed = tflint_nan("-", "--output-format", "full", cwd=tmp_path, stdin=BUGGY)
    assert unnamed.stdout.startswith("-:5:31: TFN001")
    assert "5 |     return tf.where(x > 0, x, tf.exp(x) - 1.)" in unnamed.stdout  # the source came from stdin


def test_stdin_excluded_by_force_exclude_is_not_checked(tmp_path):
    write(tmp_path, "pyproject.toml", '[tool.tflint-nan]\nextend-exclude = ["generated/"]\n')
    result = tflint_nan("--force-exclude", "-", "--stdin-filename", "generated/model.py", cwd=tmp_path, stdin=BUGGY)
    assert (result.returncode, result.stdout) == (0, "")


def test_fix_on_stdin_writes_the_fixed_source_to_stdout(tmp_path):
    result = tflint_nan("--fix", "-", "--stdin-filename", "model.py", cwd=tmp_path, stdin=BUGGY)
    assert result.returncode == 0, result.stderr
    assert result.stdout == FIXED
    assert result.stderr.strip() == "Fixed 2 problems in 1 file (1 file checked)."
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_fix_on_stdin_passes_through_what_it_cannot_fix(tmp_path):
    broken = "import tensorflow as tf\ntf.where(\n"
    result = tflint_nan("--fix", "-", cwd=tmp_path, stdin=broken)
    assert (result.returncode, result.stdout) == (1, broken)
    assert result.stderr.startswith("-:2:9: TFN999 syntax error")


def test_diff_on_stdin_prints_the_patch(tmp_path):
    result = tflint_nan("--diff", "-", "--stdin-filename", "model.py", cwd=tmp_path, stdin=BUGGY)
    assert result.returncode == 1
    assert result.stdout.splitlines()[:3] == ["--- model.py", "+++ model.py", "@@ -2,8 +2,8 @@"]
    assert "+    return tf.where(x > 0, x, tf.exp(tf.minimum(x, 0.)) - 1.)" in result.stdout.splitlines()


def test_full_counts_lines_as_python_does_past_a_form_feed(tmp_path):
    write(tmp_path, "paged.py", "import tensorflow as tf\n\x0c\ndef f(x):\n    return tf.where(x > 0, x, tf.exp(x))\n")
    result = tflint_nan("--output-format", "full", "paged.py", cwd=tmp_path)
    lines = result.stdout.split("\n")
    assert lines[0].startswith("paged.py:4:31: TFN001")
    assert lines[1:3] == ["  |", "4 |     return tf.where(x > 0, x, tf.exp(x))"]
