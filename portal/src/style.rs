//! The pages' stylesheet and their one small script (filtering lists as you
//! type, and showing the fields of the chosen token type).

/// The stylesheet, inlined in every page.
pub const CSS: &str = r#"
:root{--fg:#1f1e24;--muted:#626168;--line:#dcdcde;--bg:#fbfafd;--accent:#1f75cb;--accent-dark:#1068bf;
--danger:#dd2b0e;--ok:#108548;--warn-bg:#fdf1dd;--card:#fff;font-family:system-ui,-apple-system,"Segoe UI",Roboto,
"Noto Sans",Ubuntu,sans-serif;font-size:15px;color:var(--fg);background:var(--bg)}
body{margin:0}
header.top{background:#2b2838;color:#fff;padding:.6rem 1.5rem;display:flex;align-items:center;gap:1rem}
header.top .brand{font-weight:700;letter-spacing:.02em}
header.top .who{margin-left:auto;font-size:.9rem;opacity:.9}
header.top form{display:inline}
header.top button{background:transparent;color:#fff;border:1px solid #ffffff66;border-radius:4px;padding:.2rem .6rem;cursor:pointer}
main{max-width:1040px;margin:1.5rem auto;padding:0 1.5rem}
h1{font-size:1.6rem;margin:.2rem 0 1rem}
h2{font-size:1.15rem;margin:1.6rem 0 .6rem}
p.lead{color:var(--muted);margin-top:-.4rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:1.2rem 1.4rem;margin-bottom:1.2rem}
label{font-weight:600;display:block;margin:.8rem 0 .3rem}
.hint{color:var(--muted);font-size:.85rem;font-weight:400}
input[type=text],input[type=password],input[type=date],input[type=search],textarea{font:inherit;padding:.45rem .6rem;
border:1px solid #89888d;border-radius:4px;width:100%;max-width:32rem;box-sizing:border-box;background:#fff}
input:focus-visible,button:focus-visible,a:focus-visible,select:focus-visible{outline:3px solid #428fdc;outline-offset:1px}
fieldset{border:1px solid var(--line);border-radius:6px;padding:.6rem 1rem 1rem;margin:1rem 0}
legend{font-weight:700;padding:0 .3rem}
.choice{display:flex;gap:.6rem;align-items:flex-start;margin:.45rem 0;font-weight:400}
.choice input{margin-top:.25rem}
.choice strong{display:block}
.badge{display:inline-block;font-size:.72rem;font-weight:700;border-radius:999px;padding:.05rem .5rem;margin-left:.4rem;
vertical-align:middle;background:#e9e9ec;color:#333238}
.badge.beta{background:#e1d8f9;color:#5b3d9e}
.badge.active{background:#c3e6cd;color:#0d532a}
.badge.revoked,.badge.expired,.badge.user_inactive{background:#fdd4cd;color:#8d1300}
.btn{font:inherit;font-weight:600;border-radius:4px;padding:.45rem .9rem;border:1px solid #89888d;background:#fff;
color:var(--fg);cursor:pointer;text-decoration:none;display:inline-block}
.btn.primary{background:var(--accent);border-color:var(--accent-dark);color:#fff}
.btn.danger{color:var(--danger);border-color:var(--danger)}
.btn.small{padding:.2rem .55rem;font-size:.85rem}
.actions{display:flex;gap:.5rem;align-items:center;margin-top:1.2rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.5rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.8rem;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
td form{display:inline}
.matrix td:first-child{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85rem;white-space:nowrap}
.matrix label{display:inline-flex;gap:.25rem;align-items:center;font-weight:400;margin:0 .8rem .2rem 0;font-size:.9rem}
details{border:1px solid var(--line);border-radius:6px;margin:.5rem 0;background:#fff}
details summary{cursor:pointer;padding:.5rem .8rem;font-weight:600}
details>div{padding:0 .8rem .6rem}
.namespaces{list-style:none;padding:0;margin:.4rem 0;max-height:14rem;overflow:auto;border:1px solid var(--line);border-radius:4px}
.namespaces li{padding:.3rem .6rem;border-bottom:1px solid #f0f0f0}
.namespaces label{display:flex;gap:.4rem;margin:0;font-weight:400}
.kind{font-size:.75rem;color:var(--muted);margin-left:auto}
.alert{border-radius:6px;padding:.8rem 1rem;margin:0 0 1rem;border:1px solid}
.alert.error{background:#fcf1ef;border-color:#f3a89c;color:#8d1300}
.alert.success{background:#ecf4ee;border-color:#91d4a8;color:#0d532a}
.secret{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:1rem;background:#f0f0f3;border:1px dashed #89888d;
border-radius:4px;padding:.7rem .9rem;word-break:break-all;user-select:all}
.warn{background:var(--warn-bg);border:1px solid #e9be74;border-radius:6px;padding:.7rem 1rem;margin:1rem 0}
.muted{color:var(--muted)}
td.date{white-space:nowrap}
.hidden{display:none}
"#;

/// The script: `data-filter="ID"` inputs hide the rows of list `ID` whose
/// `data-search` text lacks what was typed; the token-type radios show the
/// matching section.
pub const SCRIPT: &str = r#"
document.querySelectorAll('input[data-filter]').forEach(function(box){
  box.addEventListener('input',function(){
    var q=box.value.trim().toLowerCase();
    var list=document.getElementById(box.dataset.filter);
    list.querySelectorAll('[data-search]').forEach(function(row){
      row.classList.toggle('hidden',q!=='' && row.dataset.search.indexOf(q)<0);
    });
    list.querySelectorAll('details').forEach(function(d){
      var shown=d.querySelectorAll('[data-search]:not(.hidden)').length>0;
      d.classList.toggle('hidden',q!=='' && !shown);
      if(q!==''){d.open=shown;}
    });
  });
});
function showKind(){
  var legacy=document.getElementById('kind-legacy');
  if(!legacy){return;}
  document.getElementById('fine-grained-fields').classList.toggle('hidden',legacy.checked);
  document.getElementById('legacy-fields').classList.toggle('hidden',!legacy.checked);
}
document.querySelectorAll('input[name=kind]').forEach(function(r){r.addEventListener('change',showKind);});
showKind();
"#;
