-- profile: sqlite
CREATE TABLE `back;ticked` (`a``;b` INTEGER);
SELECT `a``;b` FROM `back;ticked`;
