// The paths of the files a folder picker (<input webkitdirectory>) gave, in the input's order: Blazor's IBrowserFile
// has only the name, and a topology's files are told apart by their folders (router1/frr.conf, router2/frr.conf).
export const files = {
  paths(input) {
    return Array.from(input?.files || []).map((f) => f.webkitRelativePath || f.name);
  },
};
