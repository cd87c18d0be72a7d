"""Tests for nncore.datasets.from_csv: kind detection, standardisation, inputs, and every refusal
with the place it names (line numbers as in the file: the header is line 1)."""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nncore import transforms
from nncore.datasets import CSVError, MAX_CSV_BYTES, from_csv
from nncore.datasets import csv as csv_module

ROOT = Path(__file__).resolve().parents[2]


def _table(header: str, rows: list[str]) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def _rows(n: int, fmt: str = "{i},{x:.3f},{label}", labels=("cat", "dog")) -> list[str]:
    return [fmt.format(i=i, x=i * 0.5 - 3, label=labels[i % len(labels)]) for i in range(n)]


def _refusal(data, **kwargs) -> CSVError:
    with pytest.raises(CSVError) as e:
        from_csv(data, **kwargs)
    assert isinstance(e.value, ValueError)
    return e.value


# ---------------------------------------------------------------------------------------------
# Kind detection
# ---------------------------------------------------------------------------------------------


def test_text_target_is_classification_with_sorted_class_names():
    ds = from_csv(_table("a,b,animal", _rows(12, labels=("zebra", "cat", "dog"))))
    assert ds.kind == "classification" and ds.n_classes == 3
    assert ds.class_names == ("cat", "dog", "zebra")
    assert ds.y.dtype == np.int64 and ds.y.shape == (12,)
    assert ds.y[:3].tolist() == [2, 0, 1]  # zebra, cat, dog
    assert ds.target_name == "animal" and ds.feature_names == ("a", "b")
    assert ds.x.shape == (12, 2) and ds.x.dtype == np.float64 and ds.input_shape == (2,)
    np.testing.assert_array_equal(ds.x[:, 0], np.arange(12))


def test_few_distinct_integers_are_classes_sorted_numerically():
    ds = from_csv(_table("a,b,grade", _rows(12, labels=("10", "2", "-1", "2.0"))))
    assert ds.kind == "classification" and ds.class_names == ("-1", "2", "10")
    assert ds.y[:4].tolist() == [2, 1, 0, 1]


def test_float_target_is_regression():
    ds = from_csv(_table("a,b,price", _rows(12, labels=("1.5", "2.25", "-0.5"))))
    assert ds.kind == "regression" and ds.n_classes == 0 and ds.class_names == ()
    assert ds.y.dtype == np.float32 and ds.y.shape == (12, 1)
    assert ds.y[:3, 0].tolist() == [1.5, 2.25, -0.5]
    assert ds.n_outputs == 1


def test_many_distinct_integers_are_regression():
    limit = csv_module.MAX_INTEGER_CLASSES
    rows = [f"{i},{i * 2},{i * 7}" for i in range(limit + 1)]
    assert from_csv(_table("a,b,y", rows)).kind == "regression"
    rows = [f"{i},{i * 2},{i % limit}" for i in range(limit + 1)]
    ds = from_csv(_table("a,b,y", rows))
    assert ds.kind == "classification" and ds.n_classes == limit


def test_named_target_anywhere():
    rows = [f"{i},{'yes' if i % 3 else 'no'},{i * 1.5}" for i in range(15)]
    ds = from_csv(_table("a,label,b", rows), target="label")
    assert ds.target_name == "label" and ds.feature_names == ("a", "b")
    assert ds.class_names == ("no", "yes")
    np.testing.assert_array_equal(ds.x[:, 1], np.arange(15) * 1.5)
    assert ds.params["target"] == "label"


# ---------------------------------------------------------------------------------------------
# Standardisation
# ---------------------------------------------------------------------------------------------


def test_features_are_standardised_by_the_transform():
    rng = np.random.default_rng(0)
    values = rng.normal([1000.0, -3.0, 0.0], [50.0, 0.1, 2.0], size=(40, 3))
    rows = [f"{a!r},{b!r},5,{c!r},{'ab'[i % 2]}" for i, (a, b, c) in enumerate(values.tolist())]
    ds = from_csv(_table("a,b,const,c,y", rows))
    np.testing.assert_array_equal(ds.x[:, [0, 1, 3]], values)  # the file's values, exactly
    assert isinstance(ds.transform, transforms.Standardize)
    np.testing.assert_allclose(ds.transform.mean, ds.x.mean(axis=0), rtol=0, atol=1e-12)
    std = ds.x.std(axis=0)
    std[2] = 1.0  # the constant column
    np.testing.assert_allclose(ds.transform.std, std, rtol=1e-12)
    out = ds.transform(ds.x)
    assert out.dtype == np.float32 and out.shape == (40, 4)
    np.testing.assert_allclose(out[:, [0, 1, 3]].mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(out[:, [0, 1, 3]].std(axis=0), 1.0, atol=1e-5)
    np.testing.assert_array_equal(out[:, 2], 0.0)


def test_test_fraction_holds_rows_out_and_statistics_come_from_training_rows():
    ds = from_csv(_table("a,b,y", _rows(40)), test_fraction=0.25, seed=3)
    assert len(ds.x) == 30 and len(ds.x_test) == 10 and len(ds.y_test) == 10
    everything = np.sort(np.concatenate([ds.x[:, 0], ds.x_test[:, 0]]))
    np.testing.assert_array_equal(everything, np.arange(40))
    np.testing.assert_allclose(ds.transform.mean, ds.x.mean(axis=0))
    again = from_csv(_table("a,b,y", _rows(40)), test_fraction=0.25, seed=3)
    np.testing.assert_array_equal(again.x_test, ds.x_test)
    assert from_csv(_table("a,b,y", _rows(40))).x_test is None


def test_arrays_are_read_only():
    ds = from_csv(_table("a,b,y", _rows(12)))
    assert not ds.x.flags.writeable and not ds.y.flags.writeable


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------


def test_path_bytes_and_file_objects(tmp_path):
    data = _table("a,b,y", _rows(12))
    path = tmp_path / "pets.csv"
    path.write_bytes(data)
    from_path = from_csv(path)
    assert from_path.name == "pets" and "pets.csv" in from_path.credit
    used = io.BytesIO(data)
    used.read()  # an upload already read once (e.g. the page calls again with drop_missing=True)
    for source in (str(path), data, bytearray(data), io.BytesIO(data), io.StringIO(data.decode()), used):
        ds = from_csv(source)
        np.testing.assert_array_equal(ds.x, from_path.x)
        np.testing.assert_array_equal(ds.y, from_path.y)


@pytest.mark.parametrize(
    "transform",
    [
        lambda t: t.replace(",", ";"),
        lambda t: t.replace(",", "\t"),
        lambda t: t.replace("\n", "\r\n"),
        lambda t: "\ufeff" + t,
        lambda t: t.replace("cat", '"cat"'),
        lambda t: t.replace("\n", " \n").replace(",", " , "),
    ],
    ids=["semicolon", "tab", "crlf", "bom", "quoted", "spaces"],
)
def test_dialects_give_the_same_table(transform):
    text = _table("a,b,y", _rows(12)).decode()
    plain = from_csv(text.encode())
    ds = from_csv(transform(text).encode("utf-8"))
    assert ds.feature_names == ("a", "b") and ds.class_names == ("cat", "dog")
    np.testing.assert_array_equal(ds.x, plain.x)
    np.testing.assert_array_equal(ds.y, plain.y)


def test_blank_lines_are_skipped_and_line_numbers_still_count_them():
    rows = _rows(12)
    rows.insert(3, "")
    rows.insert(4, "")
    ds = from_csv(_table("a,b,y", rows))
    assert len(ds.x) == 12
    rows[8] = "7,oops,cat"  # line 10 of the file (header, 3 rows, 2 blank lines, 3 rows, then this)
    err = _refusal(_table("a,b,y", rows))
    assert err.reason == "non_numeric" and err.line == 10 and "line 10 holds 'oops'" in str(err)


def test_quoted_newlines_count_as_lines():
    rows = _rows(12)
    rows[0] = '0,"1\n2",cat'  # lines 2-3
    err = _refusal(_table("a,b,y", rows[:1] + ["1,x,dog"] + rows[2:]))
    assert err.column == "b" and err.line == 2  # the first bad cell is the quoted one on line 2
    rows[0] = '0,1,"c\nat"'
    ok_rows = rows[:1] + ["1,x,dog"] + rows[2:]
    err = _refusal(_table("a,b,y", ok_rows))
    assert err.line == 4 and "line 4 holds 'x'" in str(err)


def test_pandas_is_imported_only_by_from_csv():
    code = "import sys, nncore.datasets, nncore.transforms; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------------------------


def test_no_header():
    err = _refusal(_table("1,2.5,3", [f"{i},{i},{i % 2}" for i in range(12)]))
    assert err.reason == "no_header" and err.line == 1
    assert "Line 1 (1, 2.5, 3) holds only numbers, so the file has no header" in str(err)
    assert "add a first line with a name for each column" in str(err)


def test_non_numeric_feature_columns_are_all_named():
    rows = _rows(12)
    rows[4] = "4,Paris,cat"
    err = _refusal(_table("a,city,y", rows))
    assert err.reason == "non_numeric" and err.column == "city" and err.line == 6
    assert str(err).startswith("Column 'city' is not numeric: line 6 holds 'Paris'.")
    rows = [f"{i},{'yes' if i % 2 else 'no'},2024-01-0{i % 9 + 1},{i},a{i % 2}" for i in range(12)]
    err = _refusal(_table("id,flag,date,v,y", rows))
    assert "Columns 'flag' and 'date' are not numeric" in str(err)
    assert "'flag' holds 'no' on line 2" in str(err) and "'date' holds '2024-01-01' on line 2" in str(err)


def test_missing_values_name_columns_and_lines_and_offer_drop_missing():
    rows = _rows(15)
    rows[2] = "2,,cat"  # line 4
    rows[6] = "6,NA,dog"  # line 8
    rows[9] = "9,1.5,"  # line 11
    data = _table("a,b,y", rows)
    err = _refusal(data)
    assert err.reason == "missing" and err.column == "b" and err.line == 4
    assert err.lines == (4, 8, 11)
    msg = str(err)
    assert "column 'b' on lines 4, 8" in msg and "column 'y' on line 11" in msg
    assert "pass drop_missing=True to drop those 3 rows" in msg
    ds = from_csv(data, drop_missing=True)
    assert len(ds.x) == 12
    assert 2 not in ds.x[:, 0] and 6 not in ds.x[:, 0] and 9 not in ds.x[:, 0]
    assert ds.params["dropped_lines"] == [4, 8, 11] and "3 rows with missing values dropped" in ds.description


@pytest.mark.parametrize("token", ["", "NA", "n/a", "NaN", "null", "None", "?", " "])
def test_missing_tokens(token):
    rows = _rows(12)
    rows[0] = f"0,{token},cat"
    err = _refusal(_table("a,b,y", rows))
    assert err.reason == "missing" and err.lines == (2,)
    assert "drop that 1 row" in str(err)


def test_dropping_too_many_rows_leaves_too_few():
    rows = [f"{i},{'' if i < 6 else i},{'ab'[i % 2]}" for i in range(14)]
    err = _refusal(_table("a,b,y", rows), drop_missing=True)
    assert err.reason == "too_few_rows"
    assert "only 8 data rows (lines 8-15) after dropping 6 with missing values; at least 10" in str(err)


def test_one_class_only():
    err = _refusal(_table("a,b,y", _rows(12, labels=("cat",))))
    assert err.reason == "one_class" and err.column == "y"
    assert "The target column 'y' holds only one class ('cat')" in str(err)


def test_fewer_than_ten_rows():
    err = _refusal(_table("a,b,y", _rows(9)))
    assert err.reason == "too_few_rows"
    assert "The file has only 9 data rows (lines 2-10); at least 10 are needed." == str(err)
    assert from_csv(_table("a,b,y", _rows(10))).n_samples == 10


def test_more_than_200_columns():
    header = ",".join(f"c{j}" for j in range(201))
    rows = [",".join(str(i + j) for j in range(200)) + f",{i % 2}" for i in range(10)]
    err = _refusal(_table(header, rows))
    assert err.reason == "too_many_columns" and "201 columns; at most 200 are accepted" in str(err)
    header = ",".join(f"c{j}" for j in range(200))
    rows = [",".join(str(i + j) for j in range(199)) + f",{i % 2}" for i in range(10)]
    assert from_csv(_table(header, rows)).input_shape == (199,)


def test_file_over_the_limit(tmp_path):
    assert MAX_CSV_BYTES == 10_000_000
    data = _table("a,b,y", _rows(12))
    err = _refusal(data, max_bytes=len(data) - 1)
    assert err.reason == "too_large" and f"The file is {len(data)} bytes, over the limit of {len(data) - 1} bytes" in str(err)
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b,y\n" + b"1,2,3\n" * 2_000_000)  # 12 MB
    err = _refusal(path)
    assert "The file is 12.0 MB, over the limit of 10.0 MB" in str(err)
    with path.open("rb") as handle:
        err = _refusal(handle)
    assert err.reason == "too_large" and "more than 10.0 MB" in str(err)
    assert from_csv(data, max_bytes=len(data)).n_samples == 12


def test_duplicate_column_names():
    err = _refusal(_table("a,b,a,y", [f"{i},{i},{i},{i % 2}" for i in range(12)]))
    assert err.reason == "duplicate_columns" and err.column == "a"
    assert "The column name 'a' appears twice in the header (line 1), as columns 1 and 3" in str(err)


def test_unnamed_column():
    err = _refusal(_table("a,,y", [f"{i},{i},{i % 2}" for i in range(12)]))
    assert err.reason == "empty_name" and "Column 2 has no name in the header (line 1)" in str(err)


@pytest.mark.parametrize("value", ["inf", "-Infinity", "1e999"])
def test_infinite_values(value):
    rows = _rows(12)
    rows[5] = f"5,{value},cat"
    err = _refusal(_table("a,b,y", rows))
    assert err.reason == "infinite" and err.column == "b" and err.line == 7
    assert f"Column 'b' holds an infinite value ('{value}') on line 7" in str(err)
    rows = [f"{i},{i},{i * 0.5}" for i in range(12)]
    rows[3] = f"3,3,{value}"
    err = _refusal(_table("a,b,y", rows))
    assert err.column == "y" and f"The target column 'y' holds an infinite value ('{value}') on line 5" in str(err)


@pytest.mark.parametrize("data", [b"", b"   \n\n  \n", "\ufeff".encode()])
def test_empty_file(data):
    err = _refusal(data)
    assert err.reason == "empty" and str(err).startswith("The file is empty")


def test_not_utf8():
    data = _table("a,b,y", _rows(12)).replace(b"dog", b"d\xf6g", 1)  # Latin-1 'o umlaut' on line 3
    err = _refusal(data)
    assert err.reason == "encoding" and err.line == 3
    assert "not valid UTF-8 text: byte 0xF6 on line 3" in str(err)
    err = _refusal(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    assert err.reason == "encoding"
    err = _refusal(b"a,b,y\n1,2\x00,3\n")
    assert err.reason == "encoding" and "NUL byte on line 2" in str(err)


def test_ragged_rows_and_unclosed_quotes():
    rows = _rows(12)
    rows[3] = "3,1.0,cat,extra"
    err = _refusal(_table("a,b,y", rows))
    assert err.reason == "parse" and err.line == 5
    assert "Line 5 has 4 fields but the header (line 1) has 3" in str(err)
    rows = _rows(12)
    rows[6] = '6,"1.0,cat'
    err = _refusal(_table("a,b,y", rows))
    assert err.reason == "parse" and err.line == 8 and "opened on line 8 is never closed" in str(err)


def test_short_rows_are_missing_values():
    rows = _rows(12)
    rows[1] = "1,0.5"
    err = _refusal(_table("a,b,y", rows))
    assert err.reason == "missing" and "column 'y' on line 3" in str(err)


def test_target_not_in_header_and_other_argument_errors():
    data = _table("a,b,y", _rows(12))
    err = _refusal(data, target="label")
    assert err.reason == "target_not_found"
    assert "The target column 'label' is not in the header (line 1); the columns are: 'a', 'b', 'y'." == str(err)
    with pytest.raises(ValueError, match="max_bytes must be a positive integer; got 0"):
        from_csv(data, max_bytes=0)
    with pytest.raises(ValueError, match="target must be a column name"):
        from_csv(data, target=2)
    with pytest.raises(ValueError, match=r"test_fraction must be a number in \[0, 1\); got 1.0"):
        from_csv(data, test_fraction=1.0)
    with pytest.raises(ValueError, match="path_or_buffer must be a path, bytes or a file object; got int"):
        from_csv(3)
    with pytest.raises(FileNotFoundError):
        from_csv("/no/such/file.csv")


def test_single_column_and_too_many_classes():
    err = _refusal(_table("only", [str(i) for i in range(12)]))
    assert err.reason == "too_few_columns" and "single column ('only')" in str(err)
    rows = [f"{i},{i},id{i}" for i in range(csv_module.MAX_CLASSES + 1)]
    err = _refusal(_table("a,b,name", rows))
    assert err.reason == "too_many_classes" and err.column == "name"
    assert f"{csv_module.MAX_CLASSES + 1} different values" in str(err)


def test_fast_and_careful_readers_agree_bit_for_bit():
    """Clean files take one typed pandas pass; the careful cell-by-cell reader (used whenever
    something is off) must read the same numbers."""
    rng = np.random.default_rng(11)
    values = rng.normal(0, 10.0 ** rng.integers(-5, 6, size=(60, 1)), size=(60, 3))
    rows = [",".join(repr(v) for v in row) + f",{'xyz'[i % 3]}" for i, row in enumerate(values.tolist())]
    text = _table("a,b,c,y", rows).decode()
    fast = csv_module._fast_rows(text, ",", 4, 3, [0, 1, 2])
    careful = csv_module._careful_rows(text, ",", ["a", "b", "c", "y"], 3, [0, 1, 2], False)
    assert fast is not None
    assert fast[0].tobytes() == careful[0].tobytes() == values.tobytes()
    assert fast[1].tolist() == careful[1].tolist()
    rows[5] = rows[5].replace(",", ", ", 1)  # a space: a job for the careful reader, same result
    assert from_csv(_table("a,b,c,y", rows)).x.tobytes() == values.tobytes()
