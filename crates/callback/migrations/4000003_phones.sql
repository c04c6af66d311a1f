-- Every number of a customer, and those a callback found wrong: calls go to
-- the first number not found wrong.
ALTER TABLE callback_customers ADD COLUMN phones TEXT NOT NULL DEFAULT '';
ALTER TABLE callback_customers ADD COLUMN wrong_numbers TEXT NOT NULL DEFAULT '';
