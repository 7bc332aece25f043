"""The walking network: nodes and edges with their length in metres."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Float, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from gridsvc.common.geometry import geometry_column_type
from gridsvc.db import Base


class NetworkNode(Base):
    """A junction or end of the walking network."""

    __tablename__ = "network_nodes"
    __table_args__ = (Index("network_nodes_geom_gist", "geom", postgresql_using="gist"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    geom: Mapped[object] = mapped_column(geometry_column_type("POINT"))


class NetworkEdge(Base):
    """A walkable segment between two nodes, with its length on the ground."""

    __tablename__ = "network_edges"
    __table_args__ = (
        CheckConstraint("length_m > 0", name="network_edges_length"),
        Index("network_edges_geom_gist", "geom", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source: Mapped[int] = mapped_column(ForeignKey("network_nodes.id"), index=True)
    target: Mapped[int] = mapped_column(ForeignKey("network_nodes.id"), index=True)
    length_m: Mapped[float] = mapped_column(Float)
    geom: Mapped[object] = mapped_column(geometry_column_type("LINESTRING"))
