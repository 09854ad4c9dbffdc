import numpy as np

from intentcrop.core.candidates import Candidates


def test_index_merge_and_sort_keep_columns_aligned():
    a = Candidates.from_xyxy(np.array([[0, 0, 10, 10], [1, 1, 5, 5]]), source="grid")
    b = Candidates.from_xyxy(np.array([[2, 2, 8, 8]]), source="ratio", ratio=1.0)
    merged = Candidates.merge([a, b])
    assert len(merged) == 3
    merged.with_score("x", [1, 3, 2])
    merged.scores = np.array([0.1, 0.9, 0.5])
    best_first = merged.sorted()
    assert best_first.breakdown["x"].tolist() == [3, 2, 1]
    assert best_first.source.tolist() == ["grid", "ratio", "grid"]
    assert np.isnan(best_first.ratio[0]) and best_first.ratio[1] == 1.0
    assert merged[merged.scores > 0.4].xyxy.tolist() == [[1, 1, 5, 5], [2, 2, 8, 8]]
