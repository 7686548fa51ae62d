"""REST API of the KPI history: catalogue, snapshots, drill-down, index, alerts, targets."""
