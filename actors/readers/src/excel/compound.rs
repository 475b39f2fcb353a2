//! The compound file (OLE2) around an `.xls`, read as calamine 0.38's `cfb.rs` reads it: the
//! same header fields, allocation table, directory chain, mini stream and stream lookup, but
//! refusing a chain that visits more sectors than the file holds (calamine follows a looping
//! chain until memory runs out) and any sector or table entry calamine would index past.

/// Marks in a sector chain, as calamine names them.
const RESERVED_SECTORS: u32 = 0xFFFF_FFFA;
const DIFSECT: u32 = 0xFFFF_FFFC;
const ENDOFCHAIN: u32 = 0xFFFF_FFFE;
/// Streams shorter than this live in the mini stream, in 64-byte sectors.
const MINI_CUTOFF: usize = 4096;
const MINI_SECTOR: usize = 64;

/// The compound file container, as calamine's `Cfb::new` reads it.
pub(super) struct Container<'f> {
    file: &'f [u8],
    sector: usize,
    maxid: u32,
    fats: Vec<u32>,
    dirs: Vec<(String, u32, usize)>,
    mini_fats: Vec<u32>,
    ministream: Vec<u8>,
}

pub(super) fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

pub(super) fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn u32s(bytes: &[u8]) -> impl Iterator<Item = u32> + '_ {
    bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

/// The allocation table sectors the header itself lists.
const HEADER_SLOTS: usize = 109;

const DAMAGED: &str = "the xls file's container is damaged";

impl<'f> Container<'f> {
    pub(super) fn open(file: &'f [u8]) -> Result<Self, String> {
        let header = file.get(..512).filter(|h| h.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"));
        let header = header.ok_or("not an xls workbook (no compound file header)")?;
        let sector = match u16_at(header, 30) {
            Some(0x0009) => 512,
            Some(0x000C) => 4096,
            _ => return Err(format!("{DAMAGED}: its sector size is not 512 or 4096 bytes")),
        };
        let maxid = u32::try_from(file.len() / sector).map_err(|_| "the xls file is too large")?;
        let field = |at| u32_at(header, at).unwrap_or(ENDOFCHAIN);
        let (version, dir_start) = (u16_at(header, 26).unwrap_or(0), field(48));
        let (mini_fat_start, mini_fat_len, difat_start) = (field(60), field(64) as usize, field(68));
        let mut container = Container {
            file,
            sector,
            maxid,
            fats: Vec::new(),
            dirs: Vec::new(),
            mini_fats: Vec::new(),
            ministream: Vec::new(),
        };
        let mut difat: Vec<u32> = u32s(&header[76..512]).collect();
        let mut id = difat_start;
        let mut steps = 0usize;
        while id < RESERVED_SECTORS {
            steps += 1;
            if steps > maxid as usize + 1 {
                return Err(format!("{DAMAGED}: its allocation table's chain loops"));
            }
            difat.extend(u32s(container.sector_bytes(id)?));
            id = difat.pop().ok_or(DAMAGED)?;
        }
        // calamine takes every listed table sector, repeats included (a small file's unused
        // header slots may be zeros, each naming sector 0): more than the header's slots and
        // the file's sectors can only be a file made to grow that table.
        let listed: Vec<u32> = difat.into_iter().filter(|id| *id < DIFSECT).collect();
        if listed.len() > HEADER_SLOTS + maxid as usize {
            return Err(format!("{DAMAGED}: it lists more allocation table sectors than it holds"));
        }
        for id in listed {
            let fat: Vec<u32> = u32s(container.sector_bytes(id)?).collect();
            container.fats.extend(fat);
        }
        let dirs = container.chain(dir_start, usize::MAX)?;
        container.dirs = dirs.chunks_exact(128).map(|d| directory(d, sector)).collect();
        let Some(&(_, root_start, root_len)) = container.dirs.first() else {
            return Err(format!("{DAMAGED}: it has no directory"));
        };
        if version != 3 && root_start == ENDOFCHAIN {
            return Err(format!("{DAMAGED}: its root directory is empty"));
        }
        if mini_fat_len > 0 {
            container.ministream = container.chain(root_start, root_len)?;
            let mini_fats = container.chain(mini_fat_start, mini_fat_len.saturating_mul(sector))?;
            container.mini_fats = u32s(&mini_fats).collect();
        }
        Ok(container)
    }

    /// Sector `id`, zero-padded where the file ends inside it (as calamine pads it).
    fn sector_bytes(&self, id: u32) -> Result<&'f [u8], String> {
        let start = (id as usize + 1) * self.sector;
        if id > self.maxid || start >= self.file.len() {
            return Err(format!("{DAMAGED}: sector {id} is past the end of the file"));
        }
        Ok(&self.file[start..(start + self.sector).min(self.file.len())])
    }

    /// The bytes of the chain from `id`, at most `len`: calamine's `get_chain`, refusing a
    /// chain that visits more sectors than the file holds (it loops).
    fn chain(&self, mut id: u32, len: usize) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        let mut steps = 0usize;
        while id != ENDOFCHAIN {
            steps += 1;
            if steps > self.maxid as usize + 1 {
                return Err(format!("{DAMAGED}: a sector chain loops"));
            }
            let bytes = self.sector_bytes(id)?;
            let mut whole = bytes.to_vec();
            whole.resize(self.sector, 0);
            out.extend_from_slice(&whole[..self.sector.min(len - out.len())]);
            if out.len() >= len {
                break;
            }
            id = *self.fats.get(id as usize).ok_or_else(|| format!("{DAMAGED}: sector {id} has no table entry"))?;
        }
        Ok(out)
    }

    /// The chain from `id` in the mini stream, at most `len` bytes.
    fn mini_chain(&self, mut id: u32, len: usize) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        let limit = self.ministream.len() / MINI_SECTOR + 1;
        let mut steps = 0usize;
        while id != ENDOFCHAIN {
            steps += 1;
            let start = id as usize * MINI_SECTOR;
            let bytes = self.ministream.get(start..start + MINI_SECTOR);
            let bytes = bytes.filter(|_| steps <= limit).ok_or_else(|| format!("{DAMAGED}: its mini stream chain"))?;
            out.extend_from_slice(&bytes[..MINI_SECTOR.min(len - out.len())]);
            if out.len() >= len {
                break;
            }
            id = *self.mini_fats.get(id as usize).ok_or_else(|| format!("{DAMAGED}: its mini stream chain"))?;
        }
        Ok(out)
    }

    /// The `Workbook` stream (or `Book`, as older files name it), as calamine looks it up.
    pub(super) fn workbook(&self) -> Result<Vec<u8>, String> {
        self.stream("Workbook").or_else(|_| self.stream("Book"))
    }

    fn stream(&self, name: &str) -> Result<Vec<u8>, String> {
        let found = self.dirs.iter().find(|(n, _, _)| n.as_bytes().eq_ignore_ascii_case(name.as_bytes()));
        let &(_, start, len) = found.ok_or("not an xls workbook (no Workbook stream)")?;
        if len < MINI_CUTOFF {
            self.mini_chain(start, len)
        } else {
            self.chain(start, len)
        }
    }
}

/// A directory entry: name, first sector, length (calamine's `Directory::from_slice`).
fn directory(entry: &[u8], sector: usize) -> (String, u32, usize) {
    // encoding_rs, as calamine decodes it: a byte-order mark is sniffed (and dropped).
    let mut name = encoding_rs::UTF_16LE.decode(&entry[..64]).0.into_owned();
    if let Some(end) = name.find('\0') {
        name.truncate(end);
    }
    let start = u32_at(entry, 116).unwrap_or(ENDOFCHAIN);
    let len = if sector == 512 {
        u32_at(entry, 120).unwrap_or(0) as usize
    } else {
        entry.get(120..128).and_then(|b| b.try_into().ok()).map_or(0, |b| u64::from_le_bytes(b) as usize)
    };
    (name, start, len)
}
