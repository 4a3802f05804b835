"""What the rules and the assembly share: the notice read once, and one deadline in progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.extract.dates import DateItem, DateMention, YearContext
from domain.extract.document import Phase
from domain.extract.normalize import Normalized
from domain.extract.phrases import Verb
from domain.extract.rules import SentenceFindings
from domain.extract.schedules import Trigger
from domain.extract.sentences import Span


@dataclass(frozen=True)
class Resolved:
    """A date item with years: its first and last day, and whether a year was guessed."""

    first: date | None
    last: date | None
    inferred: bool


@dataclass(frozen=True)
class Document:
    """The notice, normalised, with the facts that hold for all its sentences."""

    norm: Normalized
    doc_date: date | None
    years: YearContext
    campaign: tuple[date, date] | None
    phases: list[Phase]
    paragraphs: list[Span]
    sections: list[Span]
    default_sender: str | None

    @property
    def text(self) -> str:
        return self.norm.text

    def resolve_all(self, findings: SentenceFindings) -> dict[int, Resolved]:
        """Give every date in a sentence a year, left to right so lists roll over years."""
        items: list[DateItem] = [i for g in findings.other_groups for i in g.items]
        items += [i for t in findings.triggers if t.group is not None for i in t.group.items]
        resolved: dict[int, Resolved] = {}
        previous: date | None = None
        for item in sorted(items, key=lambda i: i.start):
            first, inferred = self.resolve(item.first, previous)
            last = None
            if item.last is not None:
                last, _ = self.resolve(item.last, first)
            resolved[item.start] = Resolved(first, last, inferred)
            previous = last or first or previous
        return resolved

    def resolve(self, mention: DateMention, previous: date | None) -> tuple[date | None, bool]:
        """The date a mention stands for, and whether its year had to be inferred."""
        if mention.year is not None:
            return mention.on(mention.year), False
        year = self.years.year_for(mention, previous)
        return (mention.on(year) if year is not None else None), True


@dataclass(frozen=True)
class Context:
    """One trigger being turned into obligations, with the sentence around it."""

    doc: Document
    start: int
    end: int
    bound: int
    floor: int
    trigger: Trigger
    verb: Verb
    previous_anchor: str | None
    previous_sentence: Span | None
