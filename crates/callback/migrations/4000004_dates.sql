-- What the timer schedules from: a customer's birthday (MM-DD) and a
-- vehicle's purchase (registration) date, YYYY-MM-DD.
ALTER TABLE callback_customers ADD COLUMN birthday TEXT NOT NULL DEFAULT '';
ALTER TABLE callback_vehicles ADD COLUMN purchase_date TEXT NOT NULL DEFAULT '';
CREATE INDEX callback_customers_birthday ON callback_customers (dealer, birthday);
