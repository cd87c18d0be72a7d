"""A numeric CSV table as a :class:`Dataset` (pandas, imported lazily inside :func:`from_csv`).

The table has a header line with a name per column; every feature column holds numbers; the
target column (named, or the last one) holds class names (any text, or a few distinct integers)
for classification, or numbers for regression.  Features are standardised by the Dataset's
transform (:class:`nncore.transforms.Standardize` with the training rows' mean and std), so the
Dataset keeps the file's values in ``x``.

Anything else is refused with a :class:`CSVError` whose sentence says where the problem is, with
line numbers as a person counts them in the file (the header is line 1).
"""
from __future__ import annotations

import io
import numbers
import os
import re
from pathlib import Path
from typing import IO, Any, Union

import numpy as np

from nncore import transforms
from nncore.datasets.base import Dataset

__all__ = [
    "CSVError",
    "from_csv",
    "MAX_CSV_BYTES",
    "MAX_CSV_COLUMNS",
    "MIN_CSV_ROWS",
    "MAX_INTEGER_CLASSES",
    "MAX_CLASSES",
    "MISSING_TOKENS",
]

#: Largest file accepted by default (bytes): 10 MB.
MAX_CSV_BYTES = 10_000_000
#: Most columns (features + target) accepted.
MAX_CSV_COLUMNS = 200
#: Fewest data rows accepted (after dropping rows with missing values).
MIN_CSV_ROWS = 10
#: A numeric target of whole numbers with at most this many distinct values is a classification
#: target (class names: the numbers); more distinct values make it a regression target.
MAX_INTEGER_CLASSES = 20
#: Most classes a text target may have (more usually means the wrong column was chosen).
MAX_CLASSES = 100
#: Cells read as missing values (compared after stripping spaces, ignoring case).
MISSING_TOKENS = frozenset({"", "na", "n/a", "#n/a", "nan", "null", "none", "?"})

Source = Union[str, os.PathLike, bytes, bytearray, memoryview, IO[bytes], IO[str]]


class CSVError(ValueError):
    """A CSV file cannot be used as a dataset; the message says why and where.

    ``reason``: a short code for programs ("too_large", "empty", "encoding", "parse",
    "no_header", "empty_name", "duplicate_columns", "too_few_columns", "too_many_columns",
    "target_not_found", "missing", "non_numeric", "infinite", "too_few_rows", "one_class",
    "too_many_classes").  ``column``: the column concerned (or None); ``line``: the first file line
    concerned (header = 1) or None; ``lines``: for "missing", every line with a missing value (the
    rows ``drop_missing=True`` drops).
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        column: str | None = None,
        line: int | None = None,
        lines: tuple[int, ...] = (),
    ):
        super().__init__(message)
        self.reason = reason
        self.column = column
        self.line = line
        self.lines = tuple(lines)


# ----------------------------------------------------------------------------------------------
# Bytes -> text
# ----------------------------------------------------------------------------------------------


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def _too_large(size: int | str, max_bytes: int) -> CSVError:
    shown = size if isinstance(size, str) else _megabytes(size)
    return CSVError(
        f"The file is {shown}, over the limit of {_megabytes(max_bytes)}; use a smaller file "
        "(or a sample of its rows).",
        reason="too_large",
    )


def _read_source(source: Source, max_bytes: int) -> tuple[bytes | str, str]:
    """(the content, bytes or text, at most max_bytes long; a name for messages)."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        size = path.stat().st_size  # FileNotFoundError names the path
        if size > max_bytes:
            raise _too_large(size, max_bytes)
        return path.read_bytes(), path.name
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if len(data) > max_bytes:
            raise _too_large(len(data), max_bytes)
        return data, "<bytes>"
    if hasattr(source, "read"):
        name = Path(str(getattr(source, "name", "<buffer>"))).name
        if getattr(source, "seekable", lambda: False)():
            source.seek(0)  # read from the start, also when called again with the same upload
        data = source.read(max_bytes + 1)
        if len(data) > max_bytes:
            size = getattr(source, "size", None)
            raise _too_large(size if isinstance(size, int) else f"more than {_megabytes(max_bytes)}", max_bytes)
        return data, name
    raise ValueError(
        f"from_csv: path_or_buffer must be a path, bytes or a file object; got {type(source).__name__}."
    )


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        text = data[1:] if data.startswith("\ufeff") else data
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise CSVError(
                f"The file is not valid UTF-8 text: byte 0x{data[exc.start]:02X} on line {line} is not "
                "UTF-8 (a spreadsheet or binary file?); save it as 'CSV UTF-8'.",
                reason="encoding",
                line=line,
            ) from None
    if not text.strip():
        raise CSVError("The file is empty: expected a header line and at least "
                       f"{MIN_CSV_ROWS} rows of numbers.", reason="empty")
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise CSVError(
            f"The file holds a NUL byte on line {line}: it is not a text CSV file.", reason="encoding", line=line
        )
    return text


def _separator(header_line: str) -> str:
    """The separator of the header line: the most frequent of ',', ';' and tab (',' on a tie)."""
    counts = {sep: header_line.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda s: (counts[s], s == ","))
    return best if counts[best] else ","


def _parse(text: str, sep: str, nrows: int | None = None) -> Any:
    """Every cell as text (no NA conversion, blank lines kept as rows of ""), or CSVError."""
    import pandas as pd

    try:
        return pd.read_csv(
            io.StringIO(text), sep=sep, header=None, dtype=str, na_filter=False,
            keep_default_na=False, skip_blank_lines=False, engine="c", nrows=nrows,
        )
    except pd.errors.ParserError as exc:
        msg = str(exc)
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
        if m:
            expected, line, saw = (int(g) for g in m.groups())
            raise CSVError(
                f"Line {line} has {saw} fields but the header (line 1) has {expected}: every row needs "
                "one value per column (a stray separator?).",
                reason="parse",
                line=line,
            ) from None
        m = re.search(r"EOF inside string starting at row (\d+)", msg)
        if m:
            line = int(m.group(1)) + 1
            raise CSVError(
                f"A quoted field opened on line {line} is never closed (a missing '\"').",
                reason="parse",
                line=line,
            ) from None
        raise CSVError(f"The file is not a valid CSV table: {msg}.", reason="parse") from None
    except pd.errors.EmptyDataError:
        raise CSVError("The file is empty: expected a header line and rows of numbers.", reason="empty") from None


# ----------------------------------------------------------------------------------------------
# Table checks
# ----------------------------------------------------------------------------------------------


def _line_numbers(table: Any) -> np.ndarray:
    """The file line (1-based) where each row of ``table`` starts, counting newlines inside
    quoted cells."""
    n = len(table)
    extra = np.zeros(n, dtype=np.int64)
    for column in table.columns:
        extra = np.maximum(extra, table[column].str.count("\n").to_numpy(dtype=np.int64))
    starts = np.ones(n, dtype=np.int64)
    starts[1:] += np.cumsum(1 + extra[:-1])
    return starts


def _list_lines(lines: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(int(v)) for v in lines[:limit])
    word = "line" if len(lines) == 1 else "lines"
    more = f" and {len(lines) - limit} more" if len(lines) > limit else ""
    return f"{word} {shown}{more}"


def _quote_list(names: list[str]) -> str:
    quoted = [repr(n) for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _check_header(header: list[str]) -> None:
    import pandas as pd

    if all(h == "" for h in header):
        raise CSVError(
            "Line 1 is empty: the first line must be the header, a name for each column.",
            reason="no_header",
            line=1,
        )
    numeric = pd.to_numeric(pd.Series(header), errors="coerce")
    if numeric.notna().all():
        shown = ", ".join(header[:4]) + (", ..." if len(header) > 4 else "")
        raise CSVError(
            f"Line 1 ({shown}) holds only numbers, so the file has no header: add a first line with a "
            "name for each column, e.g. x1,x2,label.",
            reason="no_header",
            line=1,
        )
    for i, name in enumerate(header):
        if name == "":
            raise CSVError(
                f"Column {i + 1} has no name in the header (line 1): every column needs a name.",
                reason="empty_name",
                line=1,
            )
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if name in seen:
            raise CSVError(
                f"The column name {name!r} appears twice in the header (line 1), as columns "
                f"{seen[name] + 1} and {i + 1}: every column needs its own name.",
                reason="duplicate_columns",
                column=name,
                line=1,
            )
        seen[name] = i
    if len(header) > MAX_CSV_COLUMNS:
        raise CSVError(
            f"The file has {len(header)} columns; at most {MAX_CSV_COLUMNS} are accepted.",
            reason="too_many_columns",
            line=1,
        )
    if len(header) < 2:
        raise CSVError(
            f"The file has a single column ({header[0]!r}); expected at least one feature column and a "
            "target column, separated by commas.",
            reason="too_few_columns",
            line=1,
        )


def _missing_error(missing: np.ndarray, header: list[str], lines: np.ndarray) -> CSVError:
    """missing: bool (rows, columns)."""
    parts = []
    bad_columns = np.flatnonzero(missing.any(axis=0))
    for j in bad_columns[:3]:
        parts.append(f"column {header[j]!r} on {_list_lines(lines[missing[:, j]])}")
    if len(bad_columns) > 3:
        parts.append(f"and {len(bad_columns) - 3} more column(s)")
    rows = lines[missing.any(axis=1)]
    rows_word = "row" if len(rows) == 1 else "rows"
    return CSVError(
        f"Missing values: {'; '.join(parts)}. Fill them in, or pass drop_missing=True to drop "
        f"{'that' if len(rows) == 1 else 'those'} {len(rows)} {rows_word}.",
        reason="missing",
        column=header[bad_columns[0]],
        line=int(rows[0]),
        lines=tuple(int(v) for v in rows),
    )


def _numeric_columns(cells: Any, header: list[str], lines: np.ndarray, feature_idx: list[int]) -> np.ndarray:
    """The feature columns as float64 (rows, features); CSVError for text or infinite values."""
    import pandas as pd

    values = np.empty((len(cells), len(feature_idx)), dtype=np.float64)
    not_numeric = []
    for k, j in enumerate(feature_idx):
        column = cells.iloc[:, j]
        numbers_ = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
        bad = np.flatnonzero(np.isnan(numbers_))
        if bad.size:
            not_numeric.append((header[j], int(lines[bad[0]]), column.iloc[bad[0]]))
        values[:, k] = numbers_
    if not_numeric:
        if len(not_numeric) == 1:
            where = f"line {not_numeric[0][1]} holds {not_numeric[0][2]!r}"
        else:
            where = "; ".join(f"{name!r} holds {text!r} on line {line}" for name, line, text in not_numeric[:5])
        more = f" (and {len(not_numeric) - 5} more columns)" if len(not_numeric) > 5 else ""
        word = "Column" if len(not_numeric) == 1 else "Columns"
        raise CSVError(
            f"{word} {_quote_list([c[0] for c in not_numeric[:5]])}{more} "
            f"{'is' if len(not_numeric) == 1 else 'are'} not numeric: {where}. Every feature column must "
            "hold numbers: remove or encode such columns (only the target may hold text).",
            reason="non_numeric",
            column=not_numeric[0][0],
            line=not_numeric[0][1],
        )
    infinite = np.isinf(values)
    if infinite.any():
        r, k = (int(v) for v in np.argwhere(infinite)[0])
        name = header[feature_idx[k]]
        raise CSVError(
            f"Column {name!r} holds an infinite value ({cells.iloc[r, feature_idx[k]]!r}) on line {lines[r]}; "
            "only finite numbers are accepted.",
            reason="infinite",
            column=name,
            line=int(lines[r]),
        )
    return values


def _target(column: Any, name: str, lines: np.ndarray | None) -> tuple[str, np.ndarray, tuple[str, ...]]:
    """(kind, y, class names) of the target column (numbers, or stripped strings; none missing;
    ``lines`` None only when the column holds no infinite value)."""
    import pandas as pd

    numeric = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
    if not np.isnan(numeric).any():
        infinite = np.flatnonzero(np.isinf(numeric))
        if infinite.size:
            r = int(infinite[0])
            raise CSVError(
                f"The target column {name!r} holds an infinite value ({column.iloc[r]!r}) on line {lines[r]}; "  # type: ignore[index]
                "only finite numbers are accepted.",
                reason="infinite",
                column=name,
                line=int(lines[r]),  # type: ignore[index]
            )
        distinct = np.unique(numeric)
        if np.all(distinct == np.round(distinct)) and len(distinct) <= MAX_INTEGER_CLASSES:
            class_names = tuple(str(int(v)) for v in distinct)
            y = np.searchsorted(distinct, numeric).astype(np.int64)
            kind = "classification"
        else:
            return "regression", numeric.astype(np.float32).reshape(-1, 1), ()
    else:
        texts = column.to_numpy(dtype=object).astype(str)
        distinct_text, y = np.unique(texts, return_inverse=True)
        if len(distinct_text) > MAX_CLASSES:
            raise CSVError(
                f"The target column {name!r} holds text with {len(distinct_text)} different values; a "
                f"classification target may have at most {MAX_CLASSES} classes (is it the right column?).",
                reason="too_many_classes",
                column=name,
            )
        class_names = tuple(str(v) for v in distinct_text)
        y = y.astype(np.int64)
        kind = "classification"
    if len(class_names) < 2:
        raise CSVError(
            f"The target column {name!r} holds only one class ({class_names[0]!r}): a classifier needs at "
            "least two.",
            reason="one_class",
            column=name,
        )
    return kind, y, class_names


def _too_few_rows(n: int, lines: np.ndarray, dropped: tuple[int, ...]) -> CSVError:
    after = f" after dropping {len(dropped)} with missing values" if dropped else ""
    span = f" (lines {lines[0]}-{lines[-1]})" if n else ""
    return CSVError(
        f"The file has only {n} data row{'s' if n != 1 else ''}{span}{after}; at least {MIN_CSV_ROWS} "
        "are needed.",
        reason="too_few_rows",
    )


def _fast_rows(
    text: str, sep: str, n_columns: int, target_idx: int, feature_idx: list[int]
) -> tuple[np.ndarray, Any, None, tuple[int, ...]] | None:
    """The common case in one pandas pass with type inference: (features float64, target column,
    None, ()) when every feature is a finite number, nothing is missing and there are enough
    rows; None at the first sign of trouble (then :func:`_careful_rows` reports it)."""
    import pandas as pd
    from pandas.api import types

    try:
        table = pd.read_csv(
            io.StringIO(text), sep=sep, header=None, skiprows=1, skip_blank_lines=True,
            engine="c", low_memory=False,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError):
        return None
    if table.shape[1] != n_columns or len(table) < MIN_CSV_ROWS:
        return None
    features = table.iloc[:, feature_idx]
    if not all(types.is_numeric_dtype(d) and not types.is_bool_dtype(d) for d in features.dtypes):
        return None
    x = features.to_numpy(dtype=np.float64)
    if not np.isfinite(x).all():
        return None
    target = table.iloc[:, target_idx]
    if target.isna().any() or types.is_bool_dtype(target.dtype):
        return None
    if types.is_numeric_dtype(target.dtype):
        if not np.isfinite(target.to_numpy(dtype=np.float64)).all():
            return None
    else:
        target = target.astype(str).str.strip()
        if target.str.lower().isin(MISSING_TOKENS).any():
            return None
    return x, target.reset_index(drop=True), None, ()


def _careful_rows(
    text: str, sep: str, header: list[str], target_idx: int, feature_idx: list[int], drop_missing: bool
) -> tuple[np.ndarray, Any, np.ndarray, tuple[int, ...]]:
    """Every cell as text, checked one by one: (features float64, target column of stripped text,
    file line of each row, lines dropped for missing values), or CSVError saying where."""
    table = _parse(text, sep)
    lines = _line_numbers(table) if '"' in text else np.arange(1, len(table) + 1, dtype=np.int64)
    cells = table.apply(lambda column: column.str.strip()).iloc[1:]
    lines = lines[1:]
    blank = (cells == "").all(axis=1).to_numpy()
    cells, lines = cells[~blank], lines[~blank]

    missing = cells.apply(lambda column: column.str.lower()).isin(MISSING_TOKENS).to_numpy()
    dropped: tuple[int, ...] = ()
    if missing.any():
        if not drop_missing:
            raise _missing_error(missing, header, lines)
        keep = ~missing.any(axis=1)
        dropped = tuple(int(v) for v in lines[~keep])
        cells, lines = cells[keep], lines[keep]
    if len(cells) < MIN_CSV_ROWS:
        raise _too_few_rows(len(cells), lines, dropped)
    x = _numeric_columns(cells, header, lines, feature_idx)
    return x, cells.iloc[:, target_idx].reset_index(drop=True), lines, dropped


# ----------------------------------------------------------------------------------------------
# Public
# ----------------------------------------------------------------------------------------------


def from_csv(
    path_or_buffer: Source,
    target: str | None = None,
    max_bytes: int = MAX_CSV_BYTES,
    drop_missing: bool = False,
    test_fraction: float = 0.0,
    seed: int = 0,
) -> Dataset:
    """Read a numeric CSV table with a header into a read-only :class:`Dataset`.

    ``path_or_buffer``: a path, the file's bytes, or a binary/text file object (e.g. Streamlit's
    UploadedFile; read from its start when seekable).  Separator: ',', ';' or tab, whichever the header line uses most.
    ``target``: the target column's name (default: the last column).  A target holding text, or
    at most :data:`MAX_INTEGER_CLASSES` distinct whole numbers, makes a classification dataset
    (class names sorted: as text, or numerically); any other numeric target a regression one.
    ``max_bytes``: the largest file accepted (default :data:`MAX_CSV_BYTES`, 10 MB).
    ``drop_missing``: drop the rows with a missing value (empty, NA, NaN, null, ?...) instead of
    refusing the file.  ``test_fraction`` in [0, 1): the share of rows (shuffled with ``seed``)
    held out as ``x_test``/``y_test`` (None at 0, the default).

    Returns: ``x`` float64 (n, d) the file's feature values, ``y`` int64 (n,) class ids or float32
    (n, 1) targets, ``input_shape`` (d,), ``feature_names`` the d column names, ``transform``
    ``Standardize(mean, std)`` of the training rows (population std; a constant column gets std 1),
    ``target_name`` the target column, ``params`` {"source", "target", "drop_missing",
    "dropped_lines", "test_fraction", "seed"}.

    Raises :class:`CSVError` (a ValueError) saying what is wrong and where (column, line number
    with the header as line 1): a file over ``max_bytes``, empty, not UTF-8 text or not a CSV
    table, no header, an unnamed or duplicate column name, fewer than 2 or more than
    :data:`MAX_CSV_COLUMNS` columns, an unknown target, missing values, non-numeric feature
    columns, infinite values, fewer than :data:`MIN_CSV_ROWS` rows, a target with one class or
    more than :data:`MAX_CLASSES`.  ``ValueError`` for bad arguments, ``FileNotFoundError`` for a
    missing path.
    """
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, numbers.Integral) or max_bytes < 1:
        raise ValueError(f"from_csv: max_bytes must be a positive integer; got {max_bytes!r}.")
    if target is not None and not isinstance(target, str):
        raise ValueError(f"from_csv: target must be a column name (str) or None; got {target!r}.")
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real) or not (
        0.0 <= float(test_fraction) < 1.0
    ):
        raise ValueError(f"from_csv: test_fraction must be a number in [0, 1); got {test_fraction!r}.")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"from_csv: seed must be an integer >= 0; got {seed!r}.")

    data, source_name = _read_source(path_or_buffer, int(max_bytes))
    text = _decode(data)
    sep = _separator(text.split("\n", 1)[0])
    header = [str(h).strip() for h in _parse(text, sep, nrows=1).iloc[0]]
    _check_header(header)
    target_name = header[-1] if target is None else target
    if target_name not in header:
        raise CSVError(
            f"The target column {target_name!r} is not in the header (line 1); the columns are: "
            f"{', '.join(map(repr, header))}.",
            reason="target_not_found",
            line=1,
        )
    target_idx = header.index(target_name)
    feature_idx = [j for j in range(len(header)) if j != target_idx]

    parsed = _fast_rows(text, sep, len(header), target_idx, feature_idx)
    if parsed is None:  # something is off: the careful reader finds it and says where
        parsed = _careful_rows(text, sep, header, target_idx, feature_idx, drop_missing)
    x, target_column, lines, dropped = parsed
    kind, y, class_names = _target(target_column, target_name, lines)
    n = len(x)

    n_test = int(round(n * float(test_fraction)))
    if n - n_test < 1:
        raise ValueError(f"from_csv: test_fraction={test_fraction!r} of {n} rows leaves no training rows.")
    x_test = y_test = None
    if n_test:
        order = np.random.default_rng(int(seed)).permutation(n)
        test_rows, train_rows = order[:n_test], order[n_test:]
        x, x_test, y, y_test = x[train_rows], x[test_rows], y[train_rows], y[test_rows]
    if kind == "classification" and len(np.unique(y)) < 2:
        raise CSVError(
            f"The training rows of target {target_name!r} hold only one class; use a smaller test_fraction.",
            reason="one_class",
            column=target_name,
        )

    features = tuple(header[j] for j in feature_idx)
    stem = Path(source_name).stem if not source_name.startswith("<") else "csv"
    dropped_note = f", {len(dropped)} rows with missing values dropped" if dropped else ""
    return Dataset(
        name=stem or "csv",
        x=x,
        y=y,
        x_test=x_test,
        y_test=y_test,
        kind=kind,
        input_shape=(len(features),),
        n_classes=len(class_names),
        class_names=class_names,
        feature_names=features,
        target_name=target_name,
        credit=f"Uploaded file {source_name}" if not source_name.startswith("<") else "Uploaded table",
        description=(
            f"{source_name}: {n} rows, {len(features)} features, target {target_name!r} "
            f"({kind}{', ' + str(len(class_names)) + ' classes' if class_names else ''}){dropped_note}."
        ),
        transform=transforms.Standardize(x.mean(axis=0).tolist(), x.std(axis=0).tolist()),
        params=dict(
            source=source_name,
            target=target_name,
            drop_missing=bool(drop_missing),
            dropped_lines=list(dropped),
            test_fraction=float(test_fraction),
            seed=int(seed),
        ),
    )
