// Overlapping loads of one list (a page-load GET, then the GET after an upload; two quick
// clicks on "next week") are answered by the server on threads of their own, so the older
// answer can arrive last and paint the older list over the newer one. Each load takes a
// ticket; only the newest ticket may render.
//
//   const ticket = newestOnly();
//   async function load() {
//     const isNewest = ticket();
//     const res = await api("GET", url);
//     if (!isNewest()) return;
//     ...render res...
//   }
export function newestOnly() {
  let issued = 0;
  return function ticket() {
    const mine = ++issued;
    return function isNewest() { return mine === issued; };
  };
}
