CREATE TABLE children (
	id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	parent_id bigint NOT NULL REFERENCES parents (id)
);
