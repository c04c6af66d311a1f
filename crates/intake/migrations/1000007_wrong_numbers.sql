-- Numbers a callback found wrong, comma-separated, on the customer file.
ALTER TABLE intake_customers ADD COLUMN wrong_numbers TEXT NOT NULL DEFAULT '';
