"""Results as a clinician reads them, from the shapes the feeds send (pure functions, no database)."""

from portal.record import observation_value


def test_a_quantity_with_a_range_and_a_high_flag():
    value = observation_value(
        {
            "valueQuantity": {"value": 7.8, "unit": "mmol/L"},
            "referenceRange": [{"low": {"value": 3.5}, "high": {"value": 5.3}}],
            "interpretation": [{"coding": [{"code": "H"}]}],
        }
    )

    assert (value.shown, value.unit, value.range_text, value.flag_word) == (
        "7.8",
        "mmol/L",
        "3.5 to 5.3",
        "High",
    )


def test_a_comparator_and_a_range_given_as_text():
    value = observation_value(
        {
            "valueQuantity": {"value": 90, "comparator": ">", "unit": "mL/min/1.73m2"},
            "referenceRange": [{"text": ">90"}],
        }
    )

    assert (value.shown, value.range_text, value.flag) == (">90", ">90", "")


def test_a_text_result_and_a_senders_own_flag():
    value = observation_value(
        {"valueString": "Scanty growth", "interpretation": [{"text": "Abnormal growth"}]}
    )

    assert (value.shown, value.number, value.flag) == ("Scanty growth", None, "Abnormal growth")


def test_one_limit_only():
    value = observation_value({"valueQuantity": {"value": 2}, "referenceRange": [{"high": {"value": 5}}]})

    assert value.range_text == "below 5"
