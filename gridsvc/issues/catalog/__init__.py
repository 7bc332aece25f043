"""The catalogue: categories, departments, routing, stage deadlines and the work calendar."""
