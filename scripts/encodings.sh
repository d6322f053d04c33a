#!/usr/bin/env bash
# Regenerates testdata/encodings/: one small customer export in UTF-8,
# converted by iconv (glibc) to the encodings users' tools write:
# Windows-1252 (Excel "CSV" on Western Windows), ISO-8859-1, and UTF-16LE
# with a byte order mark, tab-separated (Excel "Unicode Text").
set -euo pipefail
cd "$(dirname "$0")/../testdata/encodings"

# cp1252.utf8.csv holds characters Windows-1252 has and ISO-8859-1 lacks
# (euro sign, curly quotes, Œ, Š); latin1.utf8.csv only Latin-1 ones.
cat > cp1252.utf8.csv <<'CSV'
id,email,name,city
1,jose@example.com,José Müller,Zürich
2,zoe@example.com,Zoë O’Brien,Málaga
3,francois@example.com,François Œuvre,Besançon
4,sara@example.com,Šárka “Sally”,Ørsted
5,euro@example.com,Prix 5 €,Köln
6,plain@example.com,Plain Name,Paris
CSV
cat > latin1.utf8.csv <<'CSV'
id,email,name,city
1,jose@example.com,José Müller,Zürich
2,zoe@example.com,Zoë Ñúñez,Málaga
3,francois@example.com,François Ægir,Besançon
4,sara@example.com,Søren ß,Ørsted
CSV
iconv -f UTF-8 -t WINDOWS-1252 cp1252.utf8.csv > cp1252.csv
iconv -f UTF-8 -t ISO-8859-1 latin1.utf8.csv > latin1.csv
# UTF-16LE with a BOM, tabs between fields, CRLF line ends: what Excel's
# "Unicode Text" export writes.
{ printf '\xff\xfe'; sed 's/,/\t/g; s/$/\r/' cp1252.utf8.csv | iconv -f UTF-8 -t UTF-16LE; } > utf16.tsv
