"""The same register_measures on Spark (local[2]) gives the same tables as on DuckDB.

Marked slow (Spark starts in ~10 s and runs each small query as a job) but run by default.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evaluate.registers import read_marks, register_measures

from .conftest import random_marks


@pytest.fixture(scope="module")
def fixture_parquet(tmp_path_factory):
    folder = tmp_path_factory.mktemp("spark_marks")
    df = random_marks(3000, 7)
    df.loc[df.index[:3], "date"] = None                       # malformed: no date
    for k, part in enumerate((df.iloc[:1500], df.iloc[1500:])):
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False), folder / f"p{k}.parquet")
    return folder


@pytest.mark.slow
def test_spark_matches_duckdb(spark, fixture_parquet):
    import ibis

    con = ibis.pyspark.connect(spark)
    on_spark = register_measures(read_marks(fixture_parquet, engine=con))
    on_duck = register_measures(read_marks(fixture_parquet, engine="duckdb"))
    assert on_spark.settings["engine"] == "pyspark" and on_duck.settings["engine"] == "duckdb"
    pd.testing.assert_frame_equal(on_spark.schools, on_duck.schools)
    assert dict(on_spark.marks) == dict(on_duck.marks)
    assert on_duck.marks["malformed"] >= 3
    pd.testing.assert_frame_equal(on_spark.unknown, on_duck.unknown)
    pd.testing.assert_frame_equal(on_spark.malformed, on_duck.malformed)
    assert on_spark.dual_registered == on_duck.dual_registered
    assert on_spark.settings["duplicates"] == on_duck.settings["duplicates"] != "not checked"


@pytest.mark.slow
def test_spark_finds_the_same_repeated_marks(spark, tmp_path):
    import ibis

    from evaluate import InputError

    df = random_marks(3000, 8, repeats=True)
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "m.parquet")
    messages = []
    for engine in (ibis.pyspark.connect(spark), "duckdb"):
        with pytest.raises(InputError) as err:
            register_measures(read_marks(tmp_path / "m.parquet", engine=engine))
        messages.append(str(err.value))
    assert messages[0] == messages[1] and "register marks repeat" in messages[0]
