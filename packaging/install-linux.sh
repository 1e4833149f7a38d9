#!/bin/sh
# Installs the packaged rolebar folder for the current user: the folder itself under
# ~/.local/opt/rolebar, `rolebar` and `rolebar-tray` links in ~/.local/bin, the desktop
# entry (with absolute paths) and the icon. Run it from the unpacked folder:
#   ./install-linux.sh            install or update
#   ./install-linux.sh --remove   remove everything it installed
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
opt=$HOME/.local/opt/rolebar
bin=$HOME/.local/bin
if [ "${1:-}" = "--remove" ]; then
  rm -rf "$opt" "$bin/rolebar" "$bin/rolebar-tray" "$data/applications/rolebar.desktop" \
    "$data/icons/hicolor/256x256/apps/rolebar.png"
  exit 0
fi
mkdir -p "$opt" "$bin" "$data/applications" "$data/icons/hicolor/256x256/apps"
if [ "$here" != "$opt" ]; then
  rm -rf "$opt" && cp -a "$here" "$opt"
fi
ln -sf "$opt/rolebar" "$bin/rolebar"
ln -sf "$opt/rolebar-tray" "$bin/rolebar-tray"
sed "s|^Exec=.*|Exec=$opt/rolebar-tray|" "$opt/rolebar.desktop" > "$data/applications/rolebar.desktop"
[ -f "$opt/rolebar.png" ] && cp "$opt/rolebar.png" "$data/icons/hicolor/256x256/apps/rolebar.png"
echo "rolebar installed in $opt; start it from the menu or with $bin/rolebar-tray"
