// The code page of a login that can be finished in the Kodekort desktop
// app. Every two seconds it asks the provider whether the login still
// waits for a code; once it does not (the app took the code, or the login
// ended), it loads the page again, which goes on to the service. The page
// works without this script: its "continue" link does the same by hand.
"use strict";
(() => {
  const section = document.querySelector("[data-status-url]");
  if (!section) return;
  const statusUrl = section.dataset.statusUrl;
  const pageUrl = section.dataset.pageUrl;
  const check = async () => {
    try {
      const reply = await fetch(statusUrl, { cache: "no-store", credentials: "same-origin" });
      // A GET of the page, never a reload: the code page is usually the
      // answer to a form post, which a reload would send again.
      if (reply.status === 404) return location.assign(pageUrl);
      if (reply.ok && (await reply.json()).waiting === false) return location.assign(pageUrl);
    } catch {
      // A moment without the network: ask again.
    }
    setTimeout(check, 2000);
  };
  setTimeout(check, 2000);
})();
