from ganparts.metrics.collapse import collapsed_in_group, looks_collapsed, lost_classes


def metrics(fid, is_mean=8.0):
    return {"fid": fid, "is_mean": is_mean}


def test_an_inception_score_below_3_is_a_collapse_on_its_own():
    assert looks_collapsed(metrics(20, is_mean=2.9)) and not looks_collapsed(metrics(20, is_mean=3.0))


def test_a_fid_five_times_the_groups_median_is_a_collapse():
    group = [metrics(20), metrics(22), metrics(25), metrics(111)]  # median 23.5: the limit is 117.5
    assert collapsed_in_group(group) == [False] * 4
    group[-1] = metrics(1200)
    assert collapsed_in_group(group) == [False, False, False, True]
    assert collapsed_in_group([metrics(20), metrics(21, is_mean=1.1)]) == [False, True]


def test_a_class_whose_fid_is_five_times_the_median_over_classes_is_lost():
    # The study's sagan seed 1 at its end: class 0 drawn blank, the other nine fine.
    fids = [1549.3, 28.3, 102.5, 76.2, 52.1, 89.6, 100.2, 59.2, 90.2, 52.8]  # median 82.9: the limit is 414.5
    assert lost_classes({"class_fids": fids}) == [0]
    assert lost_classes({"class_fids": [400.0, *fids[1:]]}) == []
    assert lost_classes({"class_fids": [1549.3, 1549.3, *fids[2:]]}) == [0, 1]
    assert lost_classes(metrics(20)) == []  # an unconditional evaluation has no classes to lose

