-- profile: postgres
CREATE TABLE "odd;name" ("col "" ; with quote" int);
SELECT "odd;name"."col "" ; with quote" FROM "odd;name";
