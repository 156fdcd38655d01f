-- One database per owning service (the same ones the local launcher creates).
-- No service reads another's database; see README "Separate stores".
CREATE DATABASE orders;
CREATE DATABASE payments;
