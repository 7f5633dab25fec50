"""From k6's raw CSV to a report: summarise, record, detect, compare, draw, publish."""
