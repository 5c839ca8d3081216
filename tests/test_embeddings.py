import numpy as np

from assistant.embeddings import encode_texts


def test_embeddings_are_normalised_rows() -> None:
    vectors = encode_texts(["negotiation skills", "handling price objections", "spreadsheet formulas"])

    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_related_texts_are_closer_than_unrelated() -> None:
    sales, objection, spreadsheet = encode_texts(
        ["negotiating a discount with a customer", "answering a customer's price objection", "pivot tables in Excel"]
    )

    assert float(sales @ objection) > float(sales @ spreadsheet)


def test_empty_input_returns_empty_matrix() -> None:
    assert encode_texts([]).shape[0] == 0
