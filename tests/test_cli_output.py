import numpy as np
import pandas as pd

from shoplens.cli.output import jsonable
from shoplens.customers.profiles import user_interests


def test_tables_inside_a_result_keep_their_named_index():
    table = pd.DataFrame({"customers": [3, 1]}, index=pd.Index(["champions", "at risk"], name="segment"))
    assert jsonable({"rfm": table, "n": np.int64(2)}) == {
        "rfm": [{"segment": "champions", "customers": 3}, {"segment": "at risk", "customers": 1}], "n": 2}


def test_interests_of_a_catalogue_without_categories():
    touched = pd.DataFrame({"item_id": ["a", "b", "c"], "weight": [1.0, 2.0, 1.0], "category": [None, None, None],
                            "title": ["red tea", "green tea", "tea cup"]})
    vectors = pd.DataFrame(np.eye(3), index=["a", "b", "c"])
    interests = user_interests(touched, vectors, n_interests=2)
    assert [i["category"] for i in interests] == ["(no category)"] and interests[0]["share"] == 1.0
