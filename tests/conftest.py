import random
from pathlib import Path

import pytest
from faker import Faker

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def shared_dir(*parts: str) -> Path:
    """A folder under ../shared, or skip the test with the reason (it exists in CI, not everywhere)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not present: third-party eval/robustness data lives in ../shared only")
    return path


@pytest.fixture(scope="session")
def invoice_specs():
    from docproc.samples import make_invoice

    rng = random.Random(1234)
    Faker.seed(1234)
    fake = Faker("en_US")
    return [make_invoice(rng, fake) for _ in range(12)]
