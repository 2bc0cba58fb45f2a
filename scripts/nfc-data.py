#!/usr/bin/env python3
# nfc-data.py - writes src/Harness/Tokenization/NfcData.cs, the tables of Tokenization/NfcNormalizer
# (Unicode normalization form C in managed code: the harness runs with InvariantGlobalization, where
# string.Normalize leaves text as it is). From Python's unicodedata (its Unicode version is recorded):
#   c FIRST LAST CLASS        canonical combining classes, in runs of one class
#   d CP PART [PART]          canonical decompositions (Hangul syllables are algorithmic and left out)
#   x CP PART [PART]          the same for a character NFC never composes to (singletons, exclusions,
#                             non-starter decompositions)
# Usage: scripts/nfc-data.py > src/Harness/Tokenization/NfcData.cs
import unicodedata

lines = []
runs = []
for cp in range(0x110000):
    k = unicodedata.combining(chr(cp))
    if not k:
        continue
    if runs and runs[-1][1] == cp - 1 and runs[-1][2] == k:
        runs[-1][1] = cp
    else:
        runs.append([cp, cp, k])
lines += [f"c {a:04X} {b:04X} {k}" for a, b, k in runs]
for cp in range(0x110000):
    if 0xAC00 <= cp <= 0xD7A3:
        continue
    d = unicodedata.decomposition(chr(cp))
    if not d or d.startswith("<"):
        continue
    parts = d.split()
    composes = len(parts) == 2 and unicodedata.normalize("NFC", chr(cp)) == chr(cp)
    lines.append(("d " if composes else "x ") + f"{cp:04X} " + " ".join(parts))

print("namespace Harness.Tokenization;")
print()
print("/// <summary>")
print(f"/// Unicode {unicodedata.unidata_version}'s canonical combining classes and decompositions for <see cref=\"NfcNormalizer\"/>,")
print("/// written by scripts/nfc-data.py from Python's unicodedata (the format is described there).")
print("/// </summary>")
print("internal static class NfcData")
print("{")
print(f"    public const string UnicodeVersion = \"{unicodedata.unidata_version}\";")
print()
print("    public const string Table = \"\"\"")
for line in lines:
    print("        " + line)
print("        \"\"\";")
print("}")
