-- profile: postgres
/* block ; comment */ SELECT 1;
SELECT /* inner ; */ 2;
/* nested /* ; */ still ; inside */
SELECT 3 /* trailing /* ; */ ; */;
SELECT 4 */ 5;
