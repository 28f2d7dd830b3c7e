"""The SHACL Core constraint components, one module per group (as pySHACL's ``constraints/``),
each a table of the parameters it compiles."""

from __future__ import annotations

from payerkg.validation.shacl.components import (
    cardinality,
    logical,
    other,
    property_pair,
    shape_based,
    string,
    value_range,
    value_type,
)
from payerkg.validation.shacl.components.base import Component

COMPONENTS: dict[str, Component] = {
    c.parameter: c
    for module in (value_type, cardinality, value_range, string, property_pair, logical, shape_based, other)
    for c in module.COMPONENTS
}
# Parameters read beside a component's own (sh:flags with sh:pattern, ...).
AUXILIARY = frozenset(name for c in COMPONENTS.values() for name in c.auxiliary)
