"""Edits are data: a Selector says which points, an Edit says what to do with them.

An edit's selector is resolved to sample ids when the edit is made; both are kept, so
the edit means the same thing forever and provenance still shows how it was drawn.
Each op keeps how it computes its target view positions (`_targets_*`) beside the
others, so this file explains every op.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hill_viz.core.edit_bounds import (check_offsets, check_scale, check_weight, finite as _finite,
                                       lasso_vertices as _vertices, selector_ids)
from hill_viz.core.geometry import INSIDE, MIXED, OUTSIDE, box_mask, box_states, lasso_mask, lasso_states
from hill_viz.core.ids import IdIndex
from hill_viz.errors import EditError

SELECTOR_KINDS = ("ids", "label", "attribute", "box", "lasso", "all_of")
OPS = ("translate", "contract", "separate", "merge", "pin")
_OP_PARAMS = {  # op -> (required params, optional params with defaults)
    "translate": ({"dx", "dy"}, {}),
    "contract": ({"factor"}, {}),
    "separate": ({"other"}, {"margin": 0.0}),
    "merge": ({"onto"}, {}),
    "pin": (set(), {}),
}
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class SelectionContext:
    """What a selector is resolved against: every point of the view, in row order.

    `index` maps ids to rows; a LatentFrame passes the one it keeps, else one is built
    from `ids` on first use.
    """

    ids: np.ndarray                      # (N,) int64
    x: np.ndarray                        # (N,) float32 view position
    y: np.ndarray                        # (N,) float32
    labels: np.ndarray                   # (N,) int
    attributes: dict[str, np.ndarray] = field(default_factory=dict)
    attribute_categories: dict[str, tuple[str, ...]] = field(default_factory=dict)
    class_names: tuple[str, ...] = ()
    index: IdIndex | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def id_index(self) -> IdIndex:
        return IdIndex(self.ids) if self.index is None else self.index

    def rows_of_ids(self, ids: np.ndarray) -> np.ndarray:
        """Row positions of the given ids; EditError if any id is not in the view."""
        return self.id_index.rows(ids)


@dataclass(frozen=True)
class Selector:
    """Which points an edit covers. Build with the class methods, resolve on a view:

    >>> ctx = SelectionContext(ids=np.array([10, 11, 12]), x=np.array([0.0, 1.0, 2.0]),
    ...                        y=np.zeros(3), labels=np.array([0, 1, 1]))
    >>> Selector.of_label(1).resolve(ctx).tolist()
    [11, 12]
    >>> Selector.all_of(Selector.of_label(1), Selector.of_box(1.5, -1, 3, 1)).resolve(ctx).tolist()
    [12]
    """

    kind: str
    ids: tuple[int, ...] = ()
    label: int | None = None
    attribute: str | None = None
    value: str | None = None
    box: tuple[float, float, float, float] | None = None    # x0, y0, x1, y1 in view coordinates
    lasso: tuple[tuple[float, float], ...] | None = None     # polygon in view coordinates
    parts: tuple["Selector", ...] = ()                       # all_of: intersection

    def __post_init__(self):
        if self.kind not in SELECTOR_KINDS:
            raise EditError(f"unknown selector kind {self.kind!r}; use one of {', '.join(SELECTOR_KINDS)}")
        if self.kind == "box":
            if self.box is None or len(self.box) != 4:
                raise EditError("a box selector needs 4 numbers: x0, y0, x1, y1")
            for v in self.box:
                _finite("box corner", v)
        if self.kind == "lasso":
            if self.lasso is None or len(_vertices(self.lasso)) < 3:
                raise EditError("a lasso selector needs a polygon of at least 3 points")
        if self.kind == "label" and self.label is None:
            raise EditError("a label selector needs a label")
        if self.kind == "attribute" and (self.attribute is None or self.value is None):
            raise EditError("an attribute selector needs an attribute name and a value")
        if self.kind == "all_of" and not self.parts:
            raise EditError("an all_of selector needs at least one part")

    # -- constructors --------------------------------------------------------------
    @classmethod
    def of_ids(cls, ids) -> "Selector":
        return cls("ids", ids=tuple(selector_ids(ids).tolist()))

    @classmethod
    def of_label(cls, label: int) -> "Selector":
        return cls("label", label=int(label))

    @classmethod
    def of_attribute(cls, attribute: str, value: str) -> "Selector":
        return cls("attribute", attribute=str(attribute), value=str(value))

    @classmethod
    def of_box(cls, x0: float, y0: float, x1: float, y1: float) -> "Selector":
        return cls("box", box=(float(x0), float(y0), float(x1), float(y1)))

    @classmethod
    def of_lasso(cls, polygon) -> "Selector":
        return cls("lasso", lasso=_vertices(polygon))

    @classmethod
    def all_of(cls, *parts: "Selector") -> "Selector":
        return cls("all_of", parts=tuple(parts))

    # -- resolution ----------------------------------------------------------------
    def mask(self, ctx: SelectionContext) -> np.ndarray:
        """Boolean mask (N,) over the context's rows."""
        n = len(ctx.ids)
        if self.kind == "ids":
            m = np.zeros(n, dtype=bool)
            m[ctx.rows_of_ids(np.array(self.ids, dtype=np.int64))] = True
            return m
        if self.kind == "label":
            if not 0 <= self.label < max(len(ctx.class_names), int(ctx.labels.max(initial=-1)) + 1):
                raise EditError(f"label {self.label} does not exist; labels are 0..{len(ctx.class_names) - 1}")
            return ctx.labels == self.label
        if self.kind == "attribute":
            if self.attribute not in ctx.attributes:
                known = ", ".join(ctx.attributes) or "none"
                raise EditError(f"unknown attribute {self.attribute!r}; this dataset has: {known}")
            cats = ctx.attribute_categories[self.attribute]
            if self.value not in cats:
                raise EditError(f"attribute {self.attribute!r} has no value {self.value!r}; "
                                f"values are: {', '.join(cats)}")
            return ctx.attributes[self.attribute] == cats.index(self.value)
        if self.kind == "box":
            return box_mask(ctx.x, ctx.y, *self.box)
        if self.kind == "lasso":
            return lasso_mask(ctx.x, ctx.y, np.array(self.lasso))
        m = np.ones(n, dtype=bool)  # all_of
        for part in self.parts:
            m &= part.mask(ctx)
        return m

    def states(self, boxes: np.ndarray) -> np.ndarray:
        """What `mask` answers for every point of each box (B, 4) of finite positions (x_min,
        x_max, y_min, y_max): geometry's OUTSIDE / INSIDE for all of them, or MIXED."""
        if self.kind == "box":
            return box_states(boxes, *self.box)
        if self.kind == "lasso":
            return lasso_states(boxes, np.array(self.lasso))
        if self.kind != "all_of":
            return np.full(len(boxes), MIXED, dtype=np.uint8)
        parts = [p.states(boxes) for p in self.parts]
        inside = np.logical_and.reduce([s == INSIDE for s in parts])  # all_of has at least one part
        outside = np.logical_or.reduce([s == OUTSIDE for s in parts])
        return np.where(outside, OUTSIDE, np.where(inside, INSIDE, MIXED)).astype(np.uint8)

    def resolve(self, ctx: SelectionContext) -> np.ndarray:
        """Sorted ids of the selected points; EditError if none."""
        ids = ctx.ids[self.mask(ctx)]
        if len(ids) == 0:
            raise EditError(f"the selection ({self.describe()}) is empty; select at least one point")
        return np.sort(ids)

    def describe(self) -> str:
        if self.kind == "ids":
            return f"{len(self.ids)} ids"
        if self.kind == "label":
            return f"label {self.label}"
        if self.kind == "attribute":
            return f"{self.attribute} = {self.value}"
        if self.kind == "box":
            return "box ({:.3g}, {:.3g})-({:.3g}, {:.3g})".format(*self.box)
        if self.kind == "lasso":
            return f"lasso of {len(self.lasso)} vertices"
        return " & ".join(p.describe() for p in self.parts)

    # -- serialization ---------------------------------------------------------------
    def to_dict(self) -> dict:
        if self.kind == "ids":
            return {"kind": "ids", "ids": list(self.ids)}
        if self.kind == "label":
            return {"kind": "label", "label": self.label}
        if self.kind == "attribute":
            return {"kind": "attribute", "attribute": self.attribute, "value": self.value}
        if self.kind == "box":
            return {"kind": "box", "box": list(self.box)}
        if self.kind == "lasso":
            return {"kind": "lasso", "lasso": [list(p) for p in self.lasso]}
        return {"kind": "all_of", "parts": [p.to_dict() for p in self.parts]}

    @classmethod
    def from_dict(cls, d: Any) -> "Selector":
        if not isinstance(d, dict) or "kind" not in d:
            raise EditError(f"a selector must be an object with a 'kind' ({', '.join(SELECTOR_KINDS)}), got {d!r}")
        kind = d["kind"]
        try:
            if kind == "ids":
                return cls.of_ids(d["ids"])
            if kind == "label":
                return cls.of_label(_int("label", d["label"]))
            if kind == "attribute":
                return cls.of_attribute(d["attribute"], d["value"])
            if kind == "box":
                return cls("box", box=tuple(_finite("box corner", v) for v in d["box"]))
            if kind == "lasso":
                return cls("lasso", lasso=_vertices(d["lasso"]))
            if kind == "all_of":
                return cls.all_of(*(cls.from_dict(p) for p in d["parts"]))
        except KeyError as missing:
            raise EditError(f"a {kind!r} selector needs the field {missing}") from None
        except TypeError:
            raise EditError(f"malformed {kind!r} selector: {d!r}") from None
        raise EditError(f"unknown selector kind {kind!r}; use one of {', '.join(SELECTOR_KINDS)}")


def _int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise EditError(f"{name} must be an integer, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class Edit:
    """One reshaping of the latent view: `{op, selector, params, weight}`.

    Ops: translate(dx, dy); contract(factor) about the selection's centroid (< 1 tightens,
    > 1 spreads); separate(other, margin) pushes two selections apart until their
    bounding circles are `margin` apart; merge(onto) moves the selection's centroid onto
    another's; pin holds the selection where it is.
    """

    op: str
    selector: Selector
    params: tuple[tuple[str, Any], ...] = ()
    weight: float = 1.0

    def __post_init__(self):
        if self.op not in OPS:
            raise EditError(f"unknown edit op {self.op!r}; use one of {', '.join(OPS)}")
        required, optional = _OP_PARAMS[self.op]
        given = dict(self.params)
        missing = required - set(given)
        if missing:
            raise EditError(f"{self.op} needs the parameter(s) {', '.join(sorted(missing))}")
        unknown = set(given) - required - set(optional)
        if unknown:
            raise EditError(f"{self.op} does not take {', '.join(sorted(unknown))}")
        for name, value in given.items():
            if name in ("other", "onto"):
                if not isinstance(value, Selector):
                    raise EditError(f"{self.op}: {name} must be a selector")
            else:
                _finite(f"{self.op} {name}", value)
        if self.op == "contract" and not 0 <= given["factor"] <= 100:
            raise EditError(f"contract factor must be between 0 and 100 (< 1 tightens, > 1 spreads), "
                            f"got {given['factor']}")
        if self.op == "separate" and given.get("margin", 0.0) < 0:
            raise EditError(f"separate margin must be >= 0, got {given['margin']}")
        check_offsets(self.op, given)
        check_weight(self.weight)

    # -- constructors --------------------------------------------------------------
    @classmethod
    def translate(cls, selector: Selector, dx: float, dy: float, weight: float = 1.0) -> "Edit":
        return cls("translate", selector, (("dx", float(dx)), ("dy", float(dy))), weight)

    @classmethod
    def contract(cls, selector: Selector, factor: float, weight: float = 1.0) -> "Edit":
        return cls("contract", selector, (("factor", float(factor)),), weight)

    @classmethod
    def separate(cls, selector: Selector, other: Selector, margin: float = 0.0, weight: float = 1.0) -> "Edit":
        return cls("separate", selector, (("margin", float(margin)), ("other", other)), weight)

    @classmethod
    def merge(cls, selector: Selector, onto: Selector, weight: float = 1.0) -> "Edit":
        return cls("merge", selector, (("onto", onto),), weight)

    @classmethod
    def pin(cls, selector: Selector, weight: float = 1.0) -> "Edit":
        return cls("pin", selector, (), weight)

    def param(self, name: str) -> Any:
        given = dict(self.params)
        return given[name] if name in given else _OP_PARAMS[self.op][1][name]

    @property
    def partner(self) -> Selector | None:
        """The second selection of separate/merge, if any."""
        given = dict(self.params)
        return given.get("other") or given.get("onto")

    def describe(self) -> str:
        sel = self.selector.describe()
        if self.op == "translate":
            return f"translate {sel} by ({self.param('dx'):.3g}, {self.param('dy'):.3g})"
        if self.op == "contract":
            return f"contract {sel} by x{self.param('factor'):.3g}"
        if self.op == "separate":
            return f"separate {sel} from {self.partner.describe()} (margin {self.param('margin'):.3g})"
        if self.op == "merge":
            return f"merge {sel} onto {self.partner.describe()}"
        return f"pin {sel}"

    def resolve(self, ctx: SelectionContext) -> "ResolvedEdit":
        check_scale(self.op, dict(self.params), ctx.x, ctx.y)  # a move within a few extents of the view
        partner = self.partner
        return ResolvedEdit(self, self.selector.resolve(ctx),
                            partner.resolve(ctx) if partner is not None else None)

    # -- serialization ---------------------------------------------------------------
    def to_dict(self) -> dict:
        params = {k: (v.to_dict() if isinstance(v, Selector) else v) for k, v in self.params}
        return {"op": self.op, "selector": self.selector.to_dict(), "params": params, "weight": self.weight}

    @classmethod
    def from_dict(cls, d: Any) -> "Edit":
        if not isinstance(d, dict):
            raise EditError(f"an edit must be an object with op, selector, params; got {d!r}")
        if "op" not in d or "selector" not in d:
            raise EditError(f"an edit needs 'op' and 'selector' fields; got {sorted(d)}")
        unknown = set(d) - {"op", "selector", "params", "weight", "ids", "other_ids"}
        if unknown:
            raise EditError(f"unknown edit field(s) {', '.join(sorted(unknown))}; "
                            "an edit has op, selector, params, weight")
        raw = d.get("params") or {}
        if not isinstance(raw, dict):
            raise EditError(f"edit params must be an object, got {raw!r}")
        params = tuple(sorted((k, Selector.from_dict(v) if k in ("other", "onto") else v)
                              for k, v in raw.items()))
        return cls(d["op"], Selector.from_dict(d["selector"]), params, d.get("weight", 1.0))


@dataclass(frozen=True, eq=False)
class ResolvedEdit:
    """An edit with its selections resolved to sorted ids at the moment it was made."""

    edit: Edit
    ids: np.ndarray
    other_ids: np.ndarray | None = None

    def to_dict(self) -> dict:
        d = self.edit.to_dict()
        d["ids"] = self.ids.tolist()
        if self.other_ids is not None:
            d["other_ids"] = self.other_ids.tolist()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ResolvedEdit":
        if "ids" not in d:
            raise EditError("a resolved edit needs its 'ids'")
        other = d.get("other_ids")
        return cls(Edit.from_dict(d), selector_ids(d["ids"]), None if other is None else selector_ids(other))


def edits_from_json(text: str) -> list[Edit]:
    """Parse a JSON list of edits (or {"edits": [...]}) with clear errors."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EditError(f"edits file is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if isinstance(data, dict) and "edits" in data:
        data = data["edits"]
    if not isinstance(data, list):
        raise EditError('edits file must hold a JSON list of edits or {"edits": [...]}')
    edits = []
    for i, item in enumerate(data):
        try:
            edits.append(Edit.from_dict(item))
        except EditError as exc:
            raise EditError(f"edit #{i}: {exc}") from None
    return edits


def edits_to_json(edits: list[Edit]) -> str:
    return json.dumps({"schema_version": SCHEMA_VERSION, "edits": [e.to_dict() for e in edits]}, indent=2)


# -- targets: how each op moves its points in the view -------------------------------------

def _centroid(p: np.ndarray) -> np.ndarray:  # (M, 2) -> (2,)
    return p.mean(axis=0)


def _radius(p: np.ndarray) -> float:
    """A robust radius of a point group: the 90th percentile distance from its centroid."""
    return float(np.quantile(np.linalg.norm(p - _centroid(p), axis=1), 0.9)) if len(p) else 0.0


def _targets_translate(edit: Edit, p: np.ndarray, q: np.ndarray | None) -> tuple[np.ndarray, None]:
    return p + np.array([edit.param("dx"), edit.param("dy")], dtype=p.dtype), None


def _targets_contract(edit: Edit, p, q):
    c = _centroid(p)
    return c + edit.param("factor") * (p - c), None


def _targets_separate(edit: Edit, p, q):
    """Move both groups apart along the line between their centroids, half each."""
    cp, cq = _centroid(p), _centroid(q)
    gap = cp - cq
    dist = float(np.linalg.norm(gap))
    need = _radius(p) + _radius(q) + edit.param("margin")
    if dist >= need:
        return p, q
    u = gap / dist if dist > 1e-12 else np.array([1.0, 0.0], dtype=p.dtype)
    shift = 0.5 * (need - dist) * u
    return p + shift, q - shift


def _targets_merge(edit: Edit, p, q):
    """The selection's centroid moves onto the partner's; the partner holds still."""
    return p + (_centroid(q) - _centroid(p)), q


def _targets_pin(edit: Edit, p, q):
    return p, None


TARGET_RULES = {
    "translate": _targets_translate,
    "contract": _targets_contract,
    "separate": _targets_separate,
    "merge": _targets_merge,
    "pin": _targets_pin,
}


def edit_targets(edit: Edit, p: np.ndarray, q: np.ndarray | None = None):
    """Target view positions for the selection (M, 2) and, for separate/merge, the partner."""
    return TARGET_RULES[edit.op](edit, p, q)
