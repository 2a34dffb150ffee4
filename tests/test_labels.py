import pytest

from vertfem.errors import UnknownVertebraError
from vertfem.labels import label_id, vertebra_name, vertebra_names


@pytest.mark.parametrize("convention, expected", [("totalsegmentator", 31), ("totalsegmentator-v1", 22), ("verse", 20)])
def test_l1_resolves_per_convention(convention, expected):
    assert label_id("L1", convention) == expected
    assert vertebra_name(expected, convention) == "L1"


def test_other_known_ids():
    assert label_id("S1") == 26 and label_id("T11") == 33 and label_id("C1") == 50
    assert label_id("T12", "totalsegmentator-v1") == 23 and label_id("L5", "totalsegmentator-v1") == 18
    assert label_id("T13", "verse") == 28 and label_id("L6", "verse") == 25 and label_id("C1", "verse") == 1


def test_raw_ids_pass_through():
    assert label_id(17) == 17 and label_id("17") == 17


def test_case_insensitive():
    assert label_id("l1") == 31


def test_unknown_name_and_convention():
    with pytest.raises(UnknownVertebraError, match="L7"):
        label_id("L7")
    with pytest.raises(UnknownVertebraError, match="convention"):
        label_id("L1", "nnunet")


def test_names_ordered_cranial_to_caudal():
    names = vertebra_names("verse")
    assert names.index("T12") < names.index("L1") < names.index("L5")
