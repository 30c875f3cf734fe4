#!/usr/bin/env bash
# Re-makes the demo's voice-over with espeak-ng and sox (both from Debian): 16 kHz mono FLAC.
# Nobody has to license synthetic speech. Run from anywhere; writes Fixtures/demo/audio/.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p audio
# id|voice|speed (words/min)|pitch (0-99)|text
while IFS='|' read -r id voice speed pitch text; do
  [ -z "$id" ] && continue
  espeak-ng -v "$voice" -s "$speed" -p "$pitch" -w "audio/$id.wav" "$text"
  sox "audio/$id.wav" -r 16000 -c 1 -b 16 "audio/$id.flac"
  rm "audio/$id.wav"
done <<'LINES'
dock_01|en-us+f3|165|60|You are late. The ship leaves at dawn, with or without you.
dock_02|en-gb+m3|150|40|I know, I know. The harbour gates were closed.
dock_03|en-us+f3|185|75|Closed? They are never closed! Who told you that?
dock_04|en-gb+m3|130|30|A guard. He looked frightened, Mara.
dock_05|en-us+f3|140|50|Then we have less time than I thought.
hold_01|en-gb+m3|170|55|Listen. Did you hear that, below the deck?
hold_02|en-us+f3|120|45|Only the sea. Go to sleep, Theo.
hold_03|en-gb+m3|190|80|That was not the sea! Something is moving down there!
hold_04|en-us+f3|160|65|Stay behind me. And give me the lantern.
hold_05|en-gb+m3|110|35|It is gone. Whatever it was, it is gone.
LINES
