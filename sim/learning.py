"""Test-and-learn: what the firm finds out about its cross-sell offers from its own
campaigns (seed texts: Capital One's tests, A/B tests, continuous improvement).

Each month every campaign contact of a label falls in a *cell*: one of the tested offers
(a test cell) or business as usual (the offer the label gets outside the test). The firm
sees only what it did and what followed: the contacts it made in each test cell and how
many of those customers bought. From these counts alone it allocates the next month's
contacts and, when the test ends, adopts a winner per label (or one for everyone). How
customers of each segment really answer an offer (``offers.<name>.response``) is never
read here.

Counts are of simulated agents, whatever the number of people each stands for: each
agent's purchase is one random draw, so weighting by people would make the firm surer of
its test than the simulated luck allows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .scenario import TestAndLearn

POSTERIOR_DRAWS = 4000
"""Draws from the Beta posteriors that estimate each offer's probability of being the
best (Thompson sampling): its standard error is at most 1/(2√4000) < 0.01."""


def _best(score: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per row, the column of the highest ``score``; ties broken at random, so that equal
    evidence favours no offer by its place in the list."""
    top = score == score.max(axis=-1, keepdims=True)
    return np.argmax(top * (1.0 + rng.random(score.shape)), axis=-1)


def probability_best(contacts: np.ndarray, sales: np.ndarray, rng: np.random.Generator,
                     draws: int = POSTERIOR_DRAWS) -> np.ndarray:
    """(L, arms) the posterior probability that each offer converts best, from uniform
    Beta(1, 1) priors updated with ``sales`` out of ``contacts`` (both (L, arms))."""
    samples = rng.beta(1.0 + sales, 1.0 + contacts - sales, size=(draws, *contacts.shape))
    best = samples.argmax(axis=-1)                                       # (draws, L)
    return (best[..., None] == np.arange(contacts.shape[1])).mean(axis=0)


@dataclass
class Experiment:
    """A test among a strategy's cross-sell offers, and what the firm has learnt from it.

    Shapes: L labels, arms offers tested. Cells are the arms and, last, business as usual.
    """

    method: str                # "ab" or "thompson"
    test_share: float          # ab: share of contacts in the test cells
    months: int                # the test runs in measured months 1..months
    pooled: bool               # one test and one winner for every label
    champion: np.ndarray       # (L,) arm each label gets outside the test
    contacts: np.ndarray       # (L, arms) test contacts made so far
    sales: np.ndarray          # (L, arms) of which bought
    adopted_month: np.ndarray  # (L,) month the label's offer was adopted (0: not yet)

    @classmethod
    def start(cls, spec: TestAndLearn, n_labels: int, start_arm: int) -> Experiment:
        """A test of ``spec`` about to begin; outside it every label gets ``start_arm``."""
        arms = len(spec.offers)
        return cls(method=spec.method, test_share=spec.test_share, months=spec.test_months,
                   pooled=spec.within == "all",
                   champion=np.full(n_labels, start_arm, dtype=np.int8),
                   contacts=np.zeros((n_labels, arms)), sales=np.zeros((n_labels, arms)),
                   adopted_month=np.zeros(n_labels, dtype=np.int32))

    def running(self, month: int) -> bool:
        """Whether the test runs in ``month``."""
        return 1 <= month <= self.months

    def _evidence(self) -> tuple[np.ndarray, np.ndarray]:
        """(contacts, sales) each label's decision rests on: its own, or everyone's."""
        if self.pooled:
            return (np.broadcast_to(self.contacts.sum(axis=0), self.contacts.shape),
                    np.broadcast_to(self.sales.sum(axis=0), self.sales.shape))
        return self.contacts, self.sales

    def cells(self, month: int, rng: np.random.Generator) -> np.ndarray:
        """(L, arms + 1) probability that a campaign contact of each label falls in each
        cell this month: the test cells, then business as usual."""
        n_lab, arms = self.contacts.shape
        share = np.zeros((n_lab, arms + 1))
        if not self.running(month):
            share[:, arms] = 1.0
        elif self.method == "ab":
            share[:, :arms] = self.test_share / arms
            share[:, arms] = 1.0 - self.test_share
        else:
            share[:, :arms] = probability_best(*self._evidence(), rng)
        return share

    def observe(self, contacts: np.ndarray, sales: np.ndarray) -> None:
        """Add a month's test contacts and sales ((L, arms) each)."""
        self.contacts += contacts
        self.sales += sales

    def conclude(self, month: int, rng: np.random.Generator) -> None:
        """Adopt each label's winner: ab, the highest observed conversion (an offer never
        tried cannot win); thompson, the offer most probably best. A label whose test made
        no contact at all has no evidence and keeps its offer."""
        contacts, sales = self._evidence()
        if self.method == "ab":
            score = np.divide(sales, contacts, out=np.full(contacts.shape, -1.0),
                              where=contacts > 0)
        else:
            score = probability_best(contacts, sales, rng)
        tested = contacts.sum(axis=1) > 0
        self.champion[tested] = _best(score, rng)[tested]
        self.adopted_month[tested] = month
